//! Approvals of versions and their items, one per host application.

use async_trait::async_trait;
use mnpd_domain::entity::*;
use mnpd_domain::store::*;
use mnpd_domain::DomainError;

use super::mini_programs::listing;
use super::tasks::lock_mini_program;
use super::{actor, conflict, given, like_pattern, on_conflict, optional_actor, SqlStore};
use crate::sql::{placeholders, sql, Lock, On, Row, Unique, Value};

/// An item selected as `i_app`, `i_status`, `i_note`, `i_user`, `i_actor`
/// and `i_time`.
fn item(r: &Row) -> StoreResult<ApprovalItem> {
    Ok(ApprovalItem {
        application_id: r.get("i_app"),
        status: r.get("i_status"),
        note: r.get("i_note"),
        approval_user: optional_actor(r, "i_actor", "i_user")?,
        approval_time: r.get("i_time"),
    })
}

/// The approval whose number `which` selects (a SELECT of one approval_no,
/// or `$1` itself), with its items in the order they were recorded, read
/// by one statement (one snapshot).
async fn load_approval(on: On<'_>, which: &str, value: Value<'_>) -> StoreResult<Option<Approval>> {
    let rows = sql(format!(
        "SELECT a.*, i.application_id AS i_app, i.status AS i_status, i.note AS i_note,
                i.approval_user AS i_user, i.approval_actor AS i_actor, i.approval_time AS i_time
         FROM approvals a LEFT JOIN approval_items i ON i.approval_no = a.approval_no
         WHERE a.approval_no = ({which})
         ORDER BY i.seq"
    ))
    .bind(value)
    .fetch_all(on)
    .await?;
    let Some(first) = rows.first() else {
        return Ok(None);
    };
    let mut items = Vec::with_capacity(rows.len());
    for r in &rows {
        // An approval without items has one row, with no item in it.
        if r.get::<Option<String>>("i_app").is_some() {
            items.push(item(r)?);
        }
    }
    Ok(Some(Approval {
        approval_no: first.get("approval_no"),
        platform_id: first.get("platform_id"),
        mnp_id: first.get("mnp_id"),
        mnp_version_id: first.get("mnp_version_id"),
        status: first.get("status"),
        apply_user: actor(first, "apply_actor", "apply_user")?,
        apply_time: first.get("apply_time"),
        updated_at: first.get("updated_at"),
        items,
    }))
}

/// The shown name and reference of who decided an item ('' for nobody yet).
fn decider_columns(item: &ApprovalItem) -> (&str, String) {
    match &item.approval_user {
        Some(a) => (a.shown(), a.reference()),
        None => ("", String::new()),
    }
}

#[async_trait]
impl ApprovalStore for SqlStore {
    async fn insert_approval(&self, a: &Approval) -> StoreResult<()> {
        let mut tx = self.db.begin().await?;
        // Share-lock the applications it names, so that a concurrent
        // delete_application either sees these items or has finished first.
        let mut apps: Vec<&str> = a.items.iter().map(|i| i.application_id.as_str()).collect();
        apps.sort_unstable();
        apps.dedup();
        if !apps.is_empty() {
            let mut select = sql(format!(
                "SELECT 1 FROM applications WHERE application_id IN ({}) ORDER BY application_id",
                placeholders(1, apps.len())
            ));
            for app in &apps {
                select = select.bind(*app);
            }
            tx.lock_rows(select, Lock::Share).await?;
        }
        let applicant = a.apply_user.reference();
        let inserted = sql(
            "INSERT INTO approvals (approval_no, platform_id, mnp_id, mnp_version_id, status, apply_user, apply_actor, apply_time, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(&a.approval_no)
        .bind(&a.platform_id)
        .bind(&a.mnp_id)
        .bind(a.mnp_version_id)
        .bind(a.status)
        .bind(a.apply_user.shown())
        .bind(applicant.as_str())
        .bind(a.apply_time)
        .bind(a.updated_at)
        .execute(&mut tx)
        .await;
        on_conflict(inserted, |detail| {
            conflict(if self.db.violates(detail, Unique::OpenApproval) {
                "open"
            } else {
                "approval_no"
            })
        })?;
        for item in &a.items {
            let (shown, decider) = decider_columns(item);
            sql("INSERT INTO approval_items (approval_no, application_id, status, note, approval_user, approval_actor, approval_time)
                 VALUES ($1, $2, $3, $4, $5, $6, $7)")
            .bind(&a.approval_no)
            .bind(&item.application_id)
            .bind(item.status)
            .bind(&item.note)
            .bind(shown)
            .bind(decider.as_str())
            .bind(item.approval_time)
            .execute(&mut tx)
            .await?;
        }
        tx.commit().await
    }

    async fn get_approval(&self, approval_no: &str) -> StoreResult<Option<Approval>> {
        load_approval(self.db.read(), "$1", approval_no.into()).await
    }

    async fn latest_approval_of_version(
        &self,
        mnp_version_id: i64,
    ) -> StoreResult<Option<Approval>> {
        load_approval(
            self.db.read(),
            "SELECT approval_no FROM approvals WHERE mnp_version_id = $1 ORDER BY apply_time DESC, seq DESC LIMIT 1",
            mnp_version_id.into(),
        )
        .await
    }

    async fn latest_approval_of_mini_program(&self, mnp_id: &str) -> StoreResult<Option<Approval>> {
        load_approval(
            self.db.read(),
            "SELECT approval_no FROM approvals WHERE mnp_id = $1 ORDER BY apply_time DESC, seq DESC LIMIT 1",
            mnp_id.into(),
        )
        .await
    }

    async fn update_approval(
        &self,
        approval_no: &str,
        decide: &(dyn for<'a> Fn(&'a Approval) -> Result<Approval, DomainError> + Send + Sync),
    ) -> StoreResult<Result<Approval, DomainError>> {
        let mut tx = self.db.begin().await?;
        let mnp_id: Option<String> = sql("SELECT mnp_id FROM approvals WHERE approval_no = $1")
            .bind(approval_no)
            .fetch_optional(&mut tx)
            .await?
            .map(|r| r.get(0));
        let Some(mnp_id) = mnp_id else {
            return Ok(Err(DomainError::InvalidApprovalNo(approval_no.to_string())));
        };
        lock_mini_program(&mut tx, &mnp_id).await?;
        // Read after the lock: what the previous holder wrote is visible.
        let Some(current) = load_approval((&mut tx).into(), "$1", approval_no.into()).await? else {
            return Ok(Err(DomainError::InvalidApprovalNo(approval_no.to_string())));
        };
        let next = match decide(&current) {
            Ok(next) => next,
            Err(refusal) => return Ok(Err(refusal)),
        };
        sql("UPDATE approvals SET status = $1, updated_at = $2 WHERE approval_no = $3")
            .bind(next.status)
            .bind(next.updated_at)
            .bind(approval_no)
            .execute(&mut tx)
            .await?;
        for item in &next.items {
            let (shown, decider) = decider_columns(item);
            sql("UPDATE approval_items SET status = $1, note = $2, approval_user = $3, approval_actor = $4, approval_time = $5
                 WHERE approval_no = $6 AND application_id = $7")
            .bind(item.status)
            .bind(&item.note)
            .bind(shown)
            .bind(decider.as_str())
            .bind(item.approval_time)
            .bind(approval_no)
            .bind(&item.application_id)
            .execute(&mut tx)
            .await?;
        }
        tx.commit().await?;
        Ok(Ok(next))
    }

    async fn list_approvals(&self, q: &ApprovalQuery) -> StoreResult<(i64, Vec<ApprovalListing>)> {
        // 0 ("pending") and 1 ("processing") both mean "not decided yet".
        let mut statuses: Vec<i64> = q
            .statuses
            .iter()
            .map(|s| if *s == 0 { 1 } else { *s })
            .collect();
        statuses.sort_unstable();
        statuses.dedup();
        // Integers, written into the text: no placeholder numbering to shift.
        let status_filter = if statuses.is_empty() {
            String::new()
        } else {
            let list: Vec<String> = statuses.iter().map(i64::to_string).collect();
            format!(" AND i.status IN ({})", list.join(","))
        };
        let keyword = like_pattern(q.keyword.as_deref());
        let from = format!(
            "FROM approval_items i
             JOIN approvals a ON a.approval_no = i.approval_no
             JOIN versions v ON v.mnp_version_id = a.mnp_version_id
             JOIN mini_programs m ON m.mnp_id = a.mnp_id
             JOIN teams t ON t.team_id = m.team_id
             LEFT JOIN applications ap ON ap.application_id = i.application_id
             WHERE a.platform_id = $1{status_filter}
               AND ($2 IS NULL OR lower(m.name) LIKE $2 ESCAPE '\\' OR lower(m.mnp_id) LIKE $2 ESCAPE '\\'
                    OR lower(a.approval_no) LIKE $2 ESCAPE '\\')
               AND ($3 IS NULL OR i.application_id = $3)
               AND ($4 IS NULL OR m.team_id = $4)"
        );
        let filtered = |text: String| {
            sql(text)
                .bind(&q.platform_id)
                .bind(keyword.as_deref())
                .bind(given(q.application_id.as_deref()))
                .bind(given(q.team_id.as_deref()))
        };
        let total: i64 = filtered(format!("SELECT count(*) {from}"))
            .fetch_one(self.db.read())
            .await?
            .get(0);
        let rows = filtered(format!(
            "SELECT m.*, t.name AS team_name,
                    a.approval_no AS a_no, a.platform_id AS a_platform, a.mnp_version_id AS a_version_id,
                    a.status AS a_status, a.apply_user AS a_user, a.apply_actor AS a_actor,
                    a.apply_time AS a_time, a.updated_at AS a_updated,
                    i.application_id AS i_app, i.status AS i_status, i.note AS i_note,
                    i.approval_user AS i_user, i.approval_actor AS i_actor, i.approval_time AS i_time,
                    v.version AS v_version,
                    coalesce(ap.name, '') AS ap_name, coalesce(ap.logo, '') AS ap_logo
             {from}
             ORDER BY a.apply_time DESC, a.approval_no, i.application_id
             LIMIT $5 OFFSET $6"
        ))
        .bind(q.limit)
        .bind(q.offset)
        .fetch_all(self.db.read())
        .await?;
        let page = rows
            .iter()
            .map(|r| {
                let l = listing(r);
                Ok(ApprovalListing {
                    approval: Approval {
                        approval_no: r.get("a_no"),
                        platform_id: r.get("a_platform"),
                        mnp_id: l.mini_program.mnp_id.clone(),
                        mnp_version_id: r.get("a_version_id"),
                        status: r.get("a_status"),
                        apply_user: actor(r, "a_actor", "a_user")?,
                        apply_time: r.get("a_time"),
                        updated_at: r.get("a_updated"),
                        items: Vec::new(),
                    },
                    item: item(r)?,
                    mnp_version: r.get("v_version"),
                    team_name: l.team_name,
                    mini_program: l.mini_program,
                    application_name: r.get("ap_name"),
                    application_logo: r.get("ap_logo"),
                })
            })
            .collect::<StoreResult<_>>()?;
        Ok((total, page))
    }
}

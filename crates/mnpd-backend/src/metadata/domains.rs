//! Server domains of mini programs, and the platform's white and black
//! lists.

use std::collections::{BTreeMap, HashSet};

use async_trait::async_trait;
use mnpd_domain::server_domain::{covered_by, DomainKind, GLOBAL_LIST_LIMIT};
use mnpd_domain::store::*;

use super::{like_pattern, SqlStore};
use crate::sql::{sql, Lock, Row, Tx};

const BLACK: i64 = 2;

fn mnp_domain(r: &Row) -> MnpDomain {
    MnpDomain {
        domain_id: r.get("domain_id"),
        mnp_id: r.get("mnp_id"),
        domain_type: r.get("domain_type"),
        url: r.get("url"),
        host: r.get("host"),
        status: r.get("status"),
        create_user: r.get("create_user"),
        created_at: r.get("created_at"),
    }
}

fn global_domain(r: &Row) -> GlobalDomain {
    GlobalDomain {
        domain_id: r.get("domain_id"),
        platform_id: r.get("platform_id"),
        list_type: r.get("list_type"),
        host: r.get("host"),
        create_user: r.get("create_user"),
        created_at: r.get("created_at"),
        update_user: r.get("update_user"),
        updated_at: r.get("updated_at"),
    }
}

/// Holds the platform's row until the commit: every write of domains takes
/// it first, so each sees the lists as the previous one left them.
async fn lock_platform(tx: &mut Tx, platform_id: &str) -> StoreResult<()> {
    let lock = sql("SELECT platform_id FROM platforms WHERE platform_id = $1").bind(platform_id);
    tx.lock_rows(lock, Lock::Update).await
}

async fn global_in(tx: &mut Tx, platform_id: &str) -> StoreResult<Vec<GlobalDomain>> {
    let rows = sql("SELECT * FROM global_domains WHERE platform_id = $1 ORDER BY domain_id")
        .bind(platform_id)
        .fetch_all(&mut *tx)
        .await?;
    Ok(rows.iter().map(global_domain).collect())
}

/// The hosts of `hosts` already on a list: (white, black).
fn on_lists(global: &[GlobalDomain], hosts: &[String]) -> (Vec<String>, Vec<String>) {
    let (mut white, mut black) = (Vec::new(), Vec::new());
    for host in hosts {
        if let Some(g) = global.iter().find(|g| &g.host == host) {
            if g.list_type == BLACK {
                black.push(host.clone());
            } else {
                white.push(host.clone());
            }
        }
    }
    (white, black)
}

#[async_trait]
impl DomainStore for SqlStore {
    async fn mini_program_domains(&self, mnp_id: &str) -> StoreResult<Vec<MnpDomain>> {
        let rows =
            sql("SELECT * FROM mnp_domains WHERE mnp_id = $1 ORDER BY domain_type, domain_id")
                .bind(mnp_id)
                .fetch_all(self.db.read())
                .await?;
        Ok(rows.iter().map(mnp_domain).collect())
    }

    async fn change_mini_program_domains(&self, c: &DomainChange) -> StoreResult<DomainWrite> {
        let mut tx = self.db.begin().await?;
        lock_platform(&mut tx, &c.platform_id).await?;
        let global = global_in(&mut tx, &c.platform_id).await?;
        let black: Vec<&str> = global
            .iter()
            .filter(|g| g.list_type == BLACK)
            .map(|g| g.host.as_str())
            .collect();
        let blocked: Vec<String> = c
            .entries
            .iter()
            .filter(|(_, _, host)| covered_by(host, black.iter().copied()))
            .map(|(_, url, _)| url.clone())
            .collect();
        if !blocked.is_empty() {
            return Ok(DomainWrite::Black(blocked));
        }
        let current: Vec<MnpDomain> =
            sql("SELECT * FROM mnp_domains WHERE mnp_id = $1 ORDER BY domain_type, domain_id")
                .bind(&c.mnp_id)
                .fetch_all(&mut tx)
                .await?
                .iter()
                .map(mnp_domain)
                .collect();
        let present: HashSet<(i64, &str)> = current
            .iter()
            .map(|d| (d.domain_type, d.url.as_str()))
            .collect();
        if c.replaced_types.is_empty() {
            let repeated: Vec<String> = c
                .entries
                .iter()
                .filter(|(t, url, _)| present.contains(&(*t, url.as_str())))
                .map(|(_, url, _)| url.clone())
                .collect();
            if !repeated.is_empty() {
                return Ok(DomainWrite::Repeated(repeated));
            }
        }
        // What each type holds after the change.
        let mut counts: BTreeMap<i64, usize> = BTreeMap::new();
        for d in &current {
            if !c.replaced_types.contains(&d.domain_type) {
                *counts.entry(d.domain_type).or_default() += 1;
            }
        }
        for (t, _, _) in &c.entries {
            *counts.entry(*t).or_default() += 1;
        }
        for (t, n) in counts {
            let limit = DomainKind::from_code(t).map_or(0, |k| k.limit());
            if n > limit {
                return Ok(DomainWrite::TooMany(t, n));
            }
        }
        let kept: HashSet<(i64, &str)> = c
            .entries
            .iter()
            .map(|(t, url, _)| (*t, url.as_str()))
            .collect();
        for d in &current {
            if c.replaced_types.contains(&d.domain_type)
                && !kept.contains(&(d.domain_type, d.url.as_str()))
            {
                sql("DELETE FROM mnp_domains WHERE domain_id = $1")
                    .bind(d.domain_id)
                    .execute(&mut tx)
                    .await?;
            }
        }
        for (t, url, host) in &c.entries {
            if present.contains(&(*t, url.as_str())) {
                continue;
            }
            sql("INSERT INTO mnp_domains (platform_id, mnp_id, domain_type, url, host, create_user, created_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7)")
            .bind(&c.platform_id)
            .bind(&c.mnp_id)
            .bind(*t)
            .bind(url)
            .bind(host)
            .bind(&c.user)
            .bind(c.now)
            .execute(&mut tx)
            .await?;
        }
        tx.commit().await?;
        Ok(DomainWrite::Written)
    }

    async fn team_domains(
        &self,
        platform_id: &str,
        team_id: &str,
        offset: i64,
        limit: i64,
    ) -> StoreResult<(i64, Vec<TeamDomain>)> {
        const FILTER: &str = "FROM mnp_domains d JOIN mini_programs m ON m.mnp_id = d.mnp_id
            WHERE d.platform_id = $1 AND m.team_id = $2";
        let total: i64 = sql(format!("SELECT count(*) AS n {FILTER}"))
            .bind(platform_id)
            .bind(team_id)
            .fetch_one(self.db.read())
            .await?
            .get("n");
        let rows = sql(format!(
            "SELECT d.*, m.name AS mnp_name {FILTER} ORDER BY d.domain_id DESC LIMIT $3 OFFSET $4"
        ))
        .bind(platform_id)
        .bind(team_id)
        .bind(limit)
        .bind(offset)
        .fetch_all(self.db.read())
        .await?;
        Ok((
            total,
            rows.iter()
                .map(|r| TeamDomain {
                    domain: mnp_domain(r),
                    mnp_name: r.get("mnp_name"),
                })
                .collect(),
        ))
    }

    async fn domain_team(&self, platform_id: &str, domain_id: i64) -> StoreResult<Option<String>> {
        Ok(sql(
            "SELECT m.team_id FROM mnp_domains d JOIN mini_programs m ON m.mnp_id = d.mnp_id
             WHERE d.platform_id = $1 AND d.domain_id = $2",
        )
        .bind(platform_id)
        .bind(domain_id)
        .fetch_optional(self.db.read())
        .await?
        .map(|r| r.get("team_id")))
    }

    async fn set_domain_status(
        &self,
        platform_id: &str,
        domain_id: i64,
        status: i64,
    ) -> StoreResult<bool> {
        let n = sql("UPDATE mnp_domains SET status = $1 WHERE platform_id = $2 AND domain_id = $3")
            .bind(status)
            .bind(platform_id)
            .bind(domain_id)
            .execute(self.db.write())
            .await?;
        Ok(n > 0)
    }

    async fn global_domains(&self, platform_id: &str) -> StoreResult<Vec<GlobalDomain>> {
        let rows = sql("SELECT * FROM global_domains WHERE platform_id = $1 ORDER BY domain_id")
            .bind(platform_id)
            .fetch_all(self.db.read())
            .await?;
        Ok(rows.iter().map(global_domain).collect())
    }

    async fn list_global_domains(
        &self,
        q: &GlobalDomainQuery,
    ) -> StoreResult<(i64, Vec<GlobalDomain>)> {
        let keyword = like_pattern(q.keyword.as_deref());
        // The types as a literal list of integers, checked by the service.
        let types = if q.list_types.is_empty() {
            "1, 2".to_string()
        } else {
            q.list_types
                .iter()
                .map(|t| t.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        };
        let filter = format!(
            "FROM global_domains WHERE platform_id = $1 AND list_type IN ({types})
             AND ($2 IS NULL OR lower(host) LIKE $2 ESCAPE '\\')"
        );
        let total: i64 = sql(format!("SELECT count(*) AS n {filter}"))
            .bind(&q.platform_id)
            .bind(keyword.as_deref())
            .fetch_one(self.db.read())
            .await?
            .get("n");
        let rows = sql(format!(
            "SELECT * {filter} ORDER BY domain_id DESC LIMIT $3 OFFSET $4"
        ))
        .bind(&q.platform_id)
        .bind(keyword.as_deref())
        .bind(q.limit)
        .bind(q.offset)
        .fetch_all(self.db.read())
        .await?;
        Ok((total, rows.iter().map(global_domain).collect()))
    }

    async fn add_global_domains(
        &self,
        platform_id: &str,
        list_type: i64,
        hosts: &[String],
        user: &str,
        now: i64,
    ) -> StoreResult<DomainWrite> {
        let mut tx = self.db.begin().await?;
        lock_platform(&mut tx, platform_id).await?;
        let global = global_in(&mut tx, platform_id).await?;
        let (white, black) = on_lists(&global, hosts);
        if !white.is_empty() {
            return Ok(DomainWrite::White(white));
        }
        if !black.is_empty() {
            return Ok(DomainWrite::Black(black));
        }
        let n = global.iter().filter(|g| g.list_type == list_type).count() + hosts.len();
        if n > GLOBAL_LIST_LIMIT {
            return Ok(DomainWrite::TooMany(list_type, n));
        }
        for host in hosts {
            sql("INSERT INTO global_domains (platform_id, list_type, host, create_user, created_at, update_user, updated_at)
                 VALUES ($1, $2, $3, $4, $5, $4, $5)")
            .bind(platform_id)
            .bind(list_type)
            .bind(host)
            .bind(user)
            .bind(now)
            .execute(&mut tx)
            .await?;
        }
        tx.commit().await?;
        Ok(DomainWrite::Written)
    }

    async fn rename_global_domain(
        &self,
        platform_id: &str,
        domain_id: i64,
        host: &str,
        user: &str,
        now: i64,
    ) -> StoreResult<Option<DomainWrite>> {
        let mut tx = self.db.begin().await?;
        lock_platform(&mut tx, platform_id).await?;
        let global = global_in(&mut tx, platform_id).await?;
        if !global.iter().any(|g| g.domain_id == domain_id) {
            return Ok(None);
        }
        let others: Vec<GlobalDomain> = global
            .into_iter()
            .filter(|g| g.domain_id != domain_id)
            .collect();
        let (white, black) = on_lists(&others, &[host.to_string()]);
        if !white.is_empty() {
            return Ok(Some(DomainWrite::White(white)));
        }
        if !black.is_empty() {
            return Ok(Some(DomainWrite::Black(black)));
        }
        sql("UPDATE global_domains SET host = $1, update_user = $2, updated_at = $3 WHERE domain_id = $4")
            .bind(host)
            .bind(user)
            .bind(now)
            .bind(domain_id)
            .execute(&mut tx)
            .await?;
        tx.commit().await?;
        Ok(Some(DomainWrite::Written))
    }

    async fn delete_global_domain(&self, platform_id: &str, domain_id: i64) -> StoreResult<bool> {
        let n = sql("DELETE FROM global_domains WHERE platform_id = $1 AND domain_id = $2")
            .bind(platform_id)
            .bind(domain_id)
            .execute(self.db.write())
            .await?;
        Ok(n > 0)
    }
}

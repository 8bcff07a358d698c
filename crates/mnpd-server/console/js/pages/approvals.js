// Approvals: DescribeMNPApprovalList (one row per host application of each
// approval, grouped here by approval) and ProcessMNPApproval.

import { onPlatform } from "../api.js";
import {
  h,
  clear,
  allowedTo,
  errorSlot,
  busy,
  toast,
  table,
  pageHeader,
  loading,
  avatar,
  mono,
  when,
  button,
  approvalBadge,
} from "../ui.js";

const FILTERS = [
  ["1", "In review"],
  ["3", "Approved"],
  ["2", "Rejected"],
  ["4", "Withdrawn"],
  ["all", "All"],
];

export async function renderApprovals(ctx) {
  const { view, query } = ctx;
  const filter = FILTERS.some(([f]) => f === query.get("status")) ? query.get("status") : "1";
  const listHost = h("div", {}, loading());
  clear(
    view,
    pageHeader(
      "Approvals",
      "Every host application of the platform decides on each submitted version; one rejection rejects it.",
    ),
    h(
      "nav",
      { class: "chips", "aria-label": "Filter approvals" },
      FILTERS.map(([f, label]) =>
        h("a", { href: `#/approvals?status=${f}`, "aria-current": f === filter ? "page" : undefined }, label),
      ),
    ),
    listHost,
  );

  const params = { Offset: 0, Limit: 100 };
  if (filter !== "all") params.ApprovalStatusList = [Number(filter)];
  const r = await onPlatform("DescribeMNPApprovalList", params);
  if (ctx.signal.aborted) return;
  const rows = r.Data?.DataList || [];

  // One card per approval, its applications inside, in the list's order.
  const groups = [];
  const byNo = new Map();
  for (const row of rows) {
    let g = byNo.get(row.ApprovalNo);
    if (!g) {
      g = { first: row, items: [] };
      byNo.set(row.ApprovalNo, g);
      groups.push(g);
    }
    g.items.push(row);
  }

  if (!groups.length) {
    clear(
      listHost,
      h(
        "section",
        { class: "panel" },
        h(
          "p",
          { class: "empty" },
          filter === "1"
            ? "Nothing waits for a decision. Submit a version for approval from its mini program's Versions tab."
            : "No approval here.",
        ),
      ),
    );
    return;
  }
  clear(listHost, groups.map((g) => approvalCard(ctx, g)));
}

function approvalCard(ctx, { first, items }) {
  const slot = errorSlot();
  const pending = items.filter((i) => i.ApprovalStatus === 1);

  const decide = async (decisions, message) => {
    await onPlatform("ProcessMNPApproval", { ApprovalNo: first.ApprovalNo, ApprovalItems: decisions });
    toast(message);
    ctx.rerender();
  };

  const actionsOf = (item) => {
    const host = h("div", { class: "actions" });
    if (item.ApprovalStatus !== 1) return host;
    const approve = button(
      "Approve",
      () =>
        busy(
          approve,
          () =>
            decide(
              [{ AppId: item.ApplicationId, ApprovalResult: 3 }],
              `${item.ApplicationName} approved ${first.MNPName} ${first.MNPVersion}`,
            ),
          slot,
        ),
      "primary",
    );
    const reject = button("Reject", () => openReject(host, item), "danger ghost");
    host.append(allowedTo("ProcessMNPApproval", approve), allowedTo("ProcessMNPApproval", reject));
    return host;
  };

  const openReject = (host, item) => {
    const note = h("input", {
      type: "text",
      required: true,
      maxlength: 200,
      placeholder: "Why (shown to the submitter)",
      "aria-label": `Reason for rejecting on behalf of ${item.ApplicationName}`,
    });
    const confirm = h("button", { type: "submit", class: "btn danger" }, "Reject");
    const saved = Array.from(host.childNodes);
    const form = h(
      "form",
      { class: "reject-form" },
      note,
      confirm,
      h("button", { type: "button", class: "btn ghost", onclick: () => host.replaceChildren(...saved) }, "Cancel"),
    );
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      busy(
        confirm,
        async () => {
          if (!note.value.trim()) {
            note.focus();
            throw Object.assign(new Error("A rejection needs a reason."), { code: "Console.MissingField" });
          }
          await decide(
            [{ AppId: item.ApplicationId, ApprovalResult: 2, ApprovalNote: note.value.trim() }],
            `${item.ApplicationName} rejected ${first.MNPName} ${first.MNPVersion}`,
          );
        },
        slot,
      );
    });
    host.replaceChildren(form);
    note.focus();
  };

  const approveAll =
    pending.length > 1
      ? button(
          `Approve for all ${pending.length}`,
          () =>
            busy(
              approveAll,
              () =>
                decide(
                  pending.map((i) => ({ AppId: i.ApplicationId, ApprovalResult: 3 })),
                  `Approved ${first.MNPName} ${first.MNPVersion}`,
                ),
              slot,
            ),
          "primary",
        )
      : null;

  return h(
    "article",
    { class: "panel approval", "data-approval": first.ApprovalNo, "aria-label": `Approval of ${first.MNPName} ${first.MNPVersion}` },
    h(
      "header",
      { class: "approval-head" },
      h(
        "a",
        { class: "entity", href: `#/programs/${encodeURIComponent(first.MNPId)}` },
        avatar(first.MNPName),
        h(
          "span",
          {},
          h("strong", {}, first.MNPName, " ", mono(first.MNPVersion)),
          h("small", { class: "muted" }, `Submitted ${when(first.ApplyTime)}${first.ApplyUser ? ` by ${first.ApplyUser}` : ""}`),
        ),
      ),
      h("small", { class: "muted" }, "Approval ", mono(first.ApprovalNo)),
    ),
    slot.el,
    table(
      [
        { label: "Host application", cell: (i) => h("span", {}, i.ApplicationName, h("small", { class: "mono muted block" }, i.ApplicationId)) },
        { label: "Status", cell: (i) => approvalBadge(i.ApprovalStatus) },
        {
          label: "Decided",
          cell: (i) => (Number(i.ApprovalTime) ? `${when(i.ApprovalTime)}${i.ApprovalUser ? ` by ${i.ApprovalUser}` : ""}` : "—"),
        },
        { label: "Note", class: "wrap", cell: (i) => i.ApprovalNote || "—" },
        { label: "", class: "row-actions", cell: actionsOf },
      ],
      items,
      { caption: `Applications deciding on ${first.MNPName} ${first.MNPVersion}` },
    ),
    approveAll ? h("div", { class: "form-actions" }, allowedTo("ProcessMNPApproval", approveAll)) : null,
  );
}

// Mini programs: DescribeMNPList (search, pages) and CreateMNP.

import { onPlatform } from "../api.js";
import {
  h,
  clear,
  field,
  errorSlot,
  busy,
  toast,
  table,
  pageHeader,
  loading,
  avatar,
  mono,
  when,
  badge,
  programStatusBadge,
  pager,
  searchBar,
  newFormToggle,
} from "../ui.js";

const PAGE = 20;

export async function renderPrograms(ctx) {
  const { view, query, platformId } = ctx;
  const keyword = query.get("q") || "";
  const offset = Math.max(0, Number(query.get("offset")) || 0);

  const createHost = h("div");
  const newButton = newFormToggle("CreateMNP", "New mini program", createHost, (close) => createForm(ctx, close));

  const searchForm = searchBar(ctx, keyword, "Search mini programs", "Search by name", (q) =>
    q ? `#/programs?q=${encodeURIComponent(q)}` : "#/programs",
  );

  const listHost = h("div", {}, loading());
  clear(
    view,
    pageHeader("Mini programs", `Platform ${platformId}`, newButton),
    createHost,
    h("section", { class: "panel" }, searchForm, listHost),
  );

  const r = await onPlatform("DescribeMNPList", {
    Offset: offset,
    Limit: PAGE,
    ...(keyword ? { Keyword: keyword } : {}),
  });
  if (ctx.signal.aborted) return;
  const total = r.Data?.TotalCount || 0;
  const rows = r.Data?.DataList || [];
  if (!total && !keyword) newButton.click();

  const link = (o) => `#/programs?${new URLSearchParams({ ...(keyword ? { q: keyword } : {}), offset: String(o) })}`;
  const pages = pager(total, offset, PAGE, link);

  clear(
    listHost,
    table(
      [
        {
          label: "Mini program",
          class: "main-cell",
          cell: (m) =>
            h(
              "a",
              { class: "entity", href: `#/programs/${encodeURIComponent(m.MNPId)}` },
              avatar(m.MNPName),
              h("span", {}, h("strong", {}, m.MNPName), h("small", { class: "mono muted" }, m.MNPId)),
            ),
        },
        { label: "Category", cell: (m) => prettyType(m.MNPType) },
        { label: "Status", cell: (m) => statusOf(m) },
        { label: "Online version", cell: (m) => (m.EffectMNPVersion ? mono(m.EffectMNPVersion) : "—") },
        { label: "Team", cell: (m) => m.TeamName || "—" },
        { label: "Updated", cell: (m) => when(m.UpdateTime) },
      ],
      rows,
      {
        caption: "Mini programs",
        empty: keyword ? `No mini program matches “${keyword}”.` : "No mini programs yet: create the first one above.",
      },
    ),
    pages,
  );
}

function statusOf(m) {
  if (m.Status === 2) return programStatusBadge(2);
  if (m.EffectStatus === 2) return badge("Online", "good");
  return programStatusBadge(m.Status);
}

/** `Tools->93_Weather` as `Tools › Weather`. */
export function prettyType(t) {
  return (t || "")
    .split(",")
    .map((one) =>
      one
        .split("->")
        .map((p) => p.replace(/^\d+_/, ""))
        .join(" › "),
    )
    .join(", ") || "—";
}

function createForm(ctx, close) {
  const name = h("input", { type: "text", required: true, maxlength: 30, autocomplete: "off" });
  const category = h("select", { required: true }, h("option", { value: "" }, "Loading categories…"));
  const icon = h("input", { type: "url", required: true, placeholder: "https://example.com/icon.png" });
  const intro = h("input", { type: "text", required: true, maxlength: 100 });
  const desc = h("textarea", { rows: 3, maxlength: 500 });
  const team = h("input", { type: "text", autocomplete: "off", placeholder: "the platform's default team" });
  const slot = errorSlot();
  const submit = h("button", { type: "submit", class: "btn primary" }, "Create mini program");

  onPlatform("DescribeMNPCategory")
    .then((r) => {
      const groups = (r.Data || []).map((c) =>
        h(
          "optgroup",
          { label: c.TypeName },
          (c.TypeValue || []).map((v) => h("option", { value: `${c.TypeName}->${v}` }, v.replace(/^\d+_/, ""))),
        ),
      );
      clear(category, h("option", { value: "" }, "Choose a category"), groups);
    })
    .catch((err) => slot.show(err));

  const form = h(
    "form",
    { class: "panel form-grid", "aria-label": "New mini program" },
    h("h2", { class: "span-all" }, "New mini program"),
    field("Name", name),
    field("Category", category),
    field("Icon URL", icon, "An http(s) address of the icon image."),
    field("Short introduction", intro),
    h("div", { class: "span-all" }, field("Description", desc)),
    h(
      "details",
      { class: "more span-all" },
      h("summary", {}, "Team"),
      field("Team ID (optional)", team),
    ),
    h("div", { class: "span-all" }, slot.el),
    h(
      "div",
      { class: "form-actions span-all" },
      submit,
      h("button", { type: "button", class: "btn ghost", onclick: close }, "Cancel"),
    ),
  );
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    await busy(
      submit,
      async () => {
        const params = {
          MNPName: name.value.trim(),
          MNPType: category.value,
          MNPIcon: icon.value.trim(),
          MNPIntro: intro.value.trim(),
          MNPDesc: desc.value.trim() || intro.value.trim(),
        };
        if (team.value.trim()) params.TeamId = team.value.trim();
        const r = await onPlatform("CreateMNP", params);
        const id = r.Data?.ResourceId;
        toast(`Created ${params.MNPName} (${id})`);
        ctx.go(`#/programs/${encodeURIComponent(id)}`);
      },
      slot,
    );
  });
  setTimeout(() => name.focus(), 0);
  return form;
}

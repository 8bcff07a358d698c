// Version tasks: those this browser follows, live, and any other TaskId
// looked up with DescribeMNPVersion (e.g. one printed by an SDK script or
// `mnpd upload`).

import * as tasks from "../tasks.js";
import { h, clear, field, errorSlot, busy, toast, table, pageHeader, mono, when, taskBadge, button } from "../ui.js";

export async function renderTasks(ctx) {
  const { view, platformId } = ctx;
  const taskId = h("input", {
    type: "text",
    required: true,
    inputmode: "numeric",
    autocomplete: "off",
    placeholder: "TaskId",
  });
  const slot = errorSlot();
  const submit = h("button", { type: "submit", class: "btn primary" }, "Follow");
  const form = h(
    "form",
    { class: "toolbar", "aria-label": "Follow a task" },
    field("Follow a task by its TaskId", taskId),
    submit,
  );
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const id = taskId.value.trim();
    await busy(
      submit,
      async () => {
        const d = await tasks.describe(platformId, id);
        tasks.track({ TaskId: d.TaskId || id, PlatformId: platformId, MNPId: d.MNPId, TaskStatus: d.TaskStatus, TaskMsg: d.TaskMsg || "" });
        taskId.value = "";
        toast(`Following task ${id}`);
      },
      slot,
    );
  });

  const listHost = h("div");
  const clearDone = button("Forget finished", () => {
    const done = tasks.ofPlatform(platformId).filter((t) => tasks.TERMINAL.has(t.TaskStatus));
    tasks.forget(platformId, done.map((t) => t.TaskId));
  }, "ghost small");

  const renderList = () => {
    const list = tasks.ofPlatform(platformId);
    clear(
      listHost,
      table(
        [
          {
            label: "Mini program",
            cell: (t) =>
              t.MNPId
                ? h("a", { href: `#/programs/${encodeURIComponent(t.MNPId)}` }, t.MNPName || t.MNPId)
                : "—",
          },
          { label: "Version", cell: (t) => (t.MNPVersion ? mono(t.MNPVersion) : "—") },
          { label: "Status", cell: (t) => taskBadge(t.TaskStatus) },
          { label: "Message", class: "wrap", cell: (t) => t.TaskMsg || "—" },
          { label: "Task", cell: (t) => mono(t.TaskId) },
          { label: "Followed since", cell: (t) => when(t.AddedAt) },
        ],
        list,
        {
          caption: "Version tasks",
          empty: "No task followed yet. Creating a version here follows its task; paste another TaskId above.",
          rowAttrs: (t) => ({ "data-task": t.TaskId }),
        },
      ),
    );
  };

  clear(
    view,
    pageHeader(
      "Tasks",
      "CreateMNPVersion downloads and checks a package in a task: pending, running, then succeeded or failed with a message.",
    ),
    h("section", { class: "panel" }, form, slot.el),
    h(
      "section",
      { class: "panel" },
      h("div", { class: "panel-head" }, h("h2", {}, "Followed tasks"), clearDone),
      listHost,
    ),
  );
  renderList();
  window.addEventListener("mnpd:tasks", renderList, { signal: ctx.signal });
  tasks.resume();
}

// A mini program taken from creation to release through the official
// TencentCloud Node SDK, unchanged, pointed at mnpd. Driven by
// tests/conformance/test_node_sdk.py, which passes one JSON argument:
//   {endpoint, protocol, secretId, secretKey, platformId, region,
//    signMethod, reqMethod, fileUrl, version}
// Prints one JSON object: the ids met on the way and the online version.
// An SDK error ends the run with exit status 1 and {code, message, step}.
"use strict";

const tencentcloud = require("tencentcloud-sdk-nodejs-intl-en");

const { Client, Models } = tencentcloud.tcmpp.v20240801;
const { Credential, ClientProfile, HttpProfile } = tencentcloud.common;

const TASK_SUCCEEDED = 60;
const TASK_FAILED = 30;
const APPROVED = 3;

const cfg = JSON.parse(process.argv[2]);
const client = new Client(
  new Credential(cfg.secretId, cfg.secretKey),
  cfg.region,
  new ClientProfile(
    cfg.signMethod,
    new HttpProfile(cfg.protocol, cfg.endpoint, cfg.reqMethod, 30),
  ),
);

let step = "";

// The typed request model and client method, as an SDK user writes them.
function call(action, params) {
  step = action;
  const req = new Models[`${action}Request`]();
  req.from_json_string(JSON.stringify({ PlatformId: cfg.platformId, ...params }));
  return new Promise((resolve, reject) => {
    client[action](req, (err, resp) => (err ? reject(err) : resolve(resp)));
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function stage(mnpId, phase) {
  const rows = (await call("DescribeMNPAllStageVersions", { MNPId: mnpId })).Data;
  const row = rows.find((r) => r.Phase === phase);
  if (!row) throw new Error(`no ${phase} row in DescribeMNPAllStageVersions`);
  return row;
}

async function main() {
  const name = `node-${process.pid}-${Date.now() % 1e6}`;
  const mnpId = (
    await call("CreateMNP", {
      MNPType: "Life Service->144_Lilliputian Services",
      MNPName: name,
      MNPIcon: "https://cdn.example.com/icons/node.png",
      MNPIntro: "Made by the Node SDK suite",
      MNPDesc: "A mini program taken to release by the official Node SDK.",
    })
  ).Data.ResourceId;
  const teamId = (await call("DescribeMNP", { MNPId: mnpId })).Data.TeamId;
  const appId = (
    await call("CreateApplication", {
      ApplicationName: `${name}-host`,
      Logo: "https://cdn.example.com/logos/node-host.png",
      TeamId: teamId,
      ApplicationType: 2,
      Intro: "Host application of the Node SDK suite",
    })
  ).Data.ResourceId;

  const taskId = (
    await call("CreateMNPVersion", {
      MNPId: mnpId,
      MNPVersion: cfg.version,
      FileUrl: cfg.fileUrl,
      MNPVersionIntro: "First version, from Node",
    })
  ).Data.TaskId;
  let task;
  for (const deadline = Date.now() + 45000; ; await sleep(150)) {
    task = (await call("DescribeMNPVersion", { BusinessId: taskId })).Data;
    if (task.TaskStatus === TASK_SUCCEEDED || task.TaskStatus === TASK_FAILED) break;
    if (Date.now() > deadline) throw new Error(`task ${taskId} still at ${task.TaskStatus}`);
  }
  if (task.TaskStatus !== TASK_SUCCEEDED) throw new Error(`task failed: ${task.TaskMsg}`);

  const versionId = (await stage(mnpId, "Develop")).MNPVersionId;
  await call("CreateMNPApproval", { MNPVersionId: versionId, ApplyAction: "submit" });
  const approvalNo = (await stage(mnpId, "Platform")).ApprovalNo;
  await call("ProcessMNPApproval", {
    ApprovalNo: approvalNo,
    ApprovalItems: [{ AppId: appId, ApprovalResult: APPROVED, ApprovalNote: "ok" }],
  });
  const released = (await call("ReleaseMNPVersion", { MNPVersionId: versionId })).Data.Result;
  const online = (await call("DescribeOnlineVersion", { MNPId: mnpId })).Data.DataList;

  process.stdout.write(
    JSON.stringify({
      mnpId,
      teamId,
      appId,
      taskId,
      taskStatus: task.TaskStatus,
      taskMsg: task.TaskMsg,
      versionId,
      approvalNo,
      released,
      online: online.map((r) => [r.MNPVersionId, r.MNPVersion]),
    }) + "\n",
  );
}

main().catch((err) => {
  process.stdout.write(
    JSON.stringify({ step, code: err.code || null, message: err.message || String(err) }) + "\n",
  );
  process.exit(1);
});

// The sandbox page: a Slack-like #general, the app's Home and DM, modals, and a Google Meet panel. The server
// sends the whole state as server-sent events; every action is a POST that the server turns into what Slack or
// Google would do.
"use strict";

const { renderBlocks, mrkdwn, textHtml, esc } = window.BlockKit;
const page = { state: null, me: localStorage.getItem("sandbox-me") || "U0ALICE", view: "channel", thread: null,
  modalKey: null, modalValues: {}, guests: {} };
const $ = (id) => document.getElementById(id);

async function post(path, body) {
  const response = await fetch(`/api/${path}`, { method: "POST", headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ user: page.me, ...body }) });
  const answer = await response.json();
  if (!answer.ok) alert(answer.error);
  return answer;
}

function ctxFor(where, values, errors) {
  const s = page.state;
  return {
    users: s.users, people: s.people, channels: { [s.channel.id]: s.channel.name }, calls: s.calls || {},
    conversations: [s.channel], values, errors,
    act: (element, blockId, extra) => post("click", { where, values,
      action: { action_id: element.action_id, block_id: blockId, ...extra } }),
    // Join joins in the Meet panel, and "Sign in with Slack" is made by the server as the person who clicked.
    openUrl: (url) => {
      if (!url.startsWith("https://meet.google.com/") && !url.includes("/slack/user-install")) window.open(url, "_blank");
    },
  };
}

function initials(name) { return (name || "?").slice(0, 1).toUpperCase(); }

function timeOf(ts) {
  const d = new Date(Number(ts) * 1000);
  return `${String(d.getHours()).padStart(2, "0")}:${String(d.getMinutes()).padStart(2, "0")}`;
}

function messageNode(m, where, options = {}) {
  const s = page.state;
  const isBot = Boolean(m.bot_id) || m.user === s.bot.id;
  const name = isBot ? s.bot.name : (s.users[m.user] || m.user || "Slack");
  const node = document.createElement("div");
  node.className = `msg ${options.cls || ""}`;
  node.dataset.ts = m.ts;
  node.innerHTML = `<div class="avatar ${isBot ? "bot" : ""}">${esc(initials(name))}</div>`;
  const body = document.createElement("div");
  body.className = "msg-body";
  body.innerHTML = `<div class="msg-head">${esc(name)}${isBot ? '<span class="app-badge">APP</span>' : ""}` +
    `<span class="time">${timeOf(m.ts)}</span>${m.edited ? ' <span class="edited">(edited)</span>' : ""}</div>`;
  if (options.note) body.insertAdjacentHTML("afterbegin", `<div class="ephemeral-note">${options.note}</div>`);
  const ctx = ctxFor(where, {}, {});
  if (m.blocks && m.blocks.length) body.appendChild(renderBlocks(m.blocks, ctx));
  else body.insertAdjacentHTML("beforeend", `<div class="bk-text">${mrkdwn(m.text, ctx)}</div>`);
  for (const a of m.attachments || []) {
    const box = document.createElement("div");
    box.className = "attachment unfurl";
    if (a.blocks) box.appendChild(renderBlocks(a.blocks, ctx));
    else box.innerHTML = mrkdwn(a.text || a.fallback || "", ctx);
    body.appendChild(box);
  }
  if (where.type === "message" && !where.ephemeral) {
    const more = document.createElement("button");
    more.className = "btn small msg-shortcut";
    more.dataset.shortcut = "meet_status";
    more.title = "More actions: Meeting status (the app's message shortcut)";
    more.textContent = "⋮ Meeting status";
    more.onclick = () => post("shortcut", { callback_id: "meet_status_from_message", message_ts: m.ts });
    body.appendChild(more);
  }
  if (options.replies) {
    const link = document.createElement("div");
    link.className = "replies";
    link.textContent = `${options.replies} ${options.replies === 1 ? "reply" : "replies"}`;
    link.onclick = () => { page.thread = m.ts; render(); };
    body.appendChild(link);
  }
  node.appendChild(body);
  return node;
}

function errorNode(item) {
  const node = document.createElement("div");
  node.className = "msg error-item";
  const detail = item.detail ? `<div>${esc(JSON.stringify(item.detail))}</div>` : "";
  const payload = item.payload ? `<details><summary>payload</summary><pre>${esc(JSON.stringify(item.payload,
    null, 2))}</pre></details>` : "";
  node.innerHTML = `<div class="avatar">!</div><div class="msg-body"><div class="msg-head">Slack` +
    `<span class="time">${timeOf(item.ts)}</span></div><div>${esc(item.text)}</div>${detail}${payload}</div>`;
  return node;
}

function channelItems() {
  const s = page.state;
  const items = [];
  const replies = {};
  for (const m of s.messages) if (m.thread_ts && m.thread_ts !== m.ts) replies[m.thread_ts] = (replies[m.thread_ts] || 0) + 1;
  for (const m of s.messages) {
    if (m.thread_ts && m.thread_ts !== m.ts) continue;
    items.push([m.ts, () => messageNode(m, { type: "message", ts: m.ts }, { replies: replies[m.ts] })]);
  }
  for (const m of s.ephemeral) {
    if (m.recipient !== page.me) continue;
    items.push([m.ts, () => messageNode(m, { type: "message", ts: m.ts, ephemeral: true },
      { cls: "ephemeral", note: "👁 Only visible to you" })]);
  }
  for (const item of s.local) {
    if (item.recipient && item.recipient !== page.me) continue;
    if (item.kind === "error") items.push([item.ts, () => errorNode(item)]);
    else {
      const ephemeral = item.kind === "ephemeral";
      items.push([item.ts, () => messageNode(item, { type: "message", ts: item.ts, ephemeral: true },
        ephemeral ? { cls: "ephemeral", note: "👁 Only visible to you" } : {})]);
    }
  }
  for (const item of s.rejections) items.push([item.ts, () => errorNode(item)]);
  items.sort((a, b) => Number(a[0]) - Number(b[0]));
  return items.map(([, make]) => make());
}

function renderCenter() {
  const s = page.state;
  const box = $("messages");
  const atBottom = box.scrollHeight - box.scrollTop - box.clientHeight < 40;
  box.replaceChildren();
  for (const name of ["channel", "home", "dm"]) $(`nav-${name}`).classList.toggle("active", page.view === name);
  $("composer").hidden = page.view !== "channel";
  if (page.view === "channel") {
    $("title").textContent = `# ${s.channel.name}`;
    box.append(...channelItems());
  } else if (page.view === "dm") {
    $("title").textContent = "meet · Messages";
    const dms = s.dms[page.me] || [];
    if (!dms.length) box.innerHTML = '<div class="empty">No messages from meet yet.</div>';
    for (const m of dms) box.appendChild(messageNode(m, { type: "message", ts: m.ts, ephemeral: true }));
  } else {
    $("title").textContent = "meet · Home";
    const home = s.home[page.me];
    const wrap = document.createElement("div");
    wrap.className = "home";
    if (home) wrap.appendChild(renderBlocks(home.blocks, ctxFor({ type: "view", view_id: home.id }, {}, {})));
    else wrap.innerHTML = '<div class="empty">The Home tab is empty: meet has not published it yet.</div>';
    box.appendChild(wrap);
  }
  if (atBottom) box.scrollTop = box.scrollHeight;
}

function renderThread() {
  const pane = $("thread");
  const s = page.state;
  const parent = page.thread && s.messages.find((m) => m.ts === page.thread);
  pane.hidden = !parent;
  if (!parent) return;
  pane.replaceChildren();
  const head = document.createElement("h2");
  head.innerHTML = 'Thread <button class="btn small" id="close-thread">Close</button>';
  pane.appendChild(head);
  pane.appendChild(messageNode(parent, { type: "message", ts: parent.ts }));
  for (const m of s.messages) {
    if (m.thread_ts === parent.ts && m.ts !== parent.ts) pane.appendChild(messageNode(m, { type: "message", ts: m.ts }));
  }
  $("close-thread").onclick = () => { page.thread = null; render(); };
}

function renderMeet() {
  const s = page.state;
  const pane = $("meet");
  const focused = document.activeElement && document.activeElement.dataset.meet === "guest-name"
    ? document.activeElement.closest(".space").dataset.space : null;
  pane.replaceChildren();
  pane.insertAdjacentHTML("beforeend", "<h2>Google Meet</h2>");
  pane.appendChild(googleSwitch(s.meet.fault));
  // A meeting nobody started with /meet: the space Google Calendar makes for your event (what /meet mine follows).
  const me = s.people.find((p) => p.id === page.me);
  const calendar = document.createElement("button");
  calendar.className = "btn small";
  calendar.dataset.meet = "calendar";
  calendar.textContent = `📅 Start a meeting as if from Calendar (${me ? me.name : "you"}'s event)`;
  calendar.onclick = () => post("meet/calendar", {});
  const row0 = document.createElement("div");
  row0.className = "row calendar-row";
  row0.appendChild(calendar);
  pane.appendChild(row0);
  if (!s.meet.spaces.length) {
    pane.insertAdjacentHTML("beforeend",
      '<div class="empty">No meetings yet. Type <code>/meet</code>, or start one as if from Calendar.</div>');
  }
  for (const space of s.meet.spaces) {
    const card = document.createElement("div");
    card.className = "space";
    card.dataset.space = space.name;
    card.dataset.code = space.code || "";
    const names = space.participants.map((p) => esc(p.signedinUser ? p.signedinUser.displayName
      : (p.anonymousUser || p.phoneUser || {}).displayName || "someone"));
    const organiser = space.organiser && s.people.find((p) => p.email === space.organiser);
    const from = space.organiser ? `<div class="from">📅 from ${esc(organiser ? organiser.name : space.organiser)}'s `
      + "Calendar event</div>" : "";
    card.innerHTML = `<div class="space-head">${esc(space.code || space.name)}</div>${from}` +
      `<div class="${space.live ? "live" : "idle"}">${space.live ? `live · ${space.participants.length} in the call`
        : "no call"}</div><div>${names.join(", ")}</div>`;
    const row = document.createElement("div");
    row.className = "row";
    for (const p of s.people) {
      const inCall = space.participants.some((x) => x.signedinUser && x.signedinUser.displayName === p.name);
      const b = document.createElement("button");
      b.className = "btn small";
      b.dataset.meet = `${inCall ? "leave" : "join"}-${p.name}`;
      b.textContent = `${inCall ? "Leave" : "Join"} as ${p.name}`;
      b.onclick = () => post(`meet/${inCall ? "leave" : "join"}`, { space: space.name, email: p.email });
      row.appendChild(b);
    }
    const guest = document.createElement("input");
    guest.placeholder = "guest name";
    guest.dataset.meet = "guest-name";
    guest.value = page.guests[space.name] || "";  // every live update redraws the panel: keep what was typed
    guest.oninput = () => { page.guests[space.name] = guest.value; };
    const join = document.createElement("button");
    join.className = "btn small";
    join.textContent = "Guest joins";
    join.onclick = () => guest.value && post("meet/join", { space: space.name, guest: guest.value });
    const leave = document.createElement("button");
    leave.className = "btn small";
    leave.textContent = "Guest leaves";
    leave.onclick = () => guest.value && post("meet/leave", { space: space.name, guest: guest.value });
    row.append(guest, join, leave);
    const row2 = document.createElement("div");
    row2.className = "row";
    const end = document.createElement("button");
    end.className = "btn small danger";
    end.textContent = "End the call";
    end.dataset.meet = "end";
    end.onclick = () => post("meet/end", { space: space.name });
    row2.appendChild(end);
    if (s.meet.artifacts) {
      for (const kind of ["recording", "transcript", "smartNote"]) {
        const b = document.createElement("button");
        b.className = "btn small";
        b.textContent = `Produce ${kind}`;
        b.onclick = () => post("meet/artifact", { space: space.name, kind });
        row2.appendChild(b);
      }
    }
    card.append(row, row2);
    pane.appendChild(card);
    if (focused === space.name) guest.focus();
  }
}

function googleSwitch(fault) {
  // Google's bad days, on demand: every Meet call answers 503 (unavailable) or 429 (rate limited) until "Up".
  const row = document.createElement("div");
  row.className = "row google-switch";
  row.insertAdjacentHTML("beforeend", "<span>Google is</span>");
  for (const [mode, label] of [["", "up"], ["503", "down (503)"], ["429", "rate limiting (429)"]]) {
    const b = document.createElement("button");
    b.className = `btn small ${(fault || "") === mode ? "primary" : ""}`;
    b.dataset.google = mode || "up";
    b.textContent = label;
    b.onclick = () => post("meet/fault", { mode });
    row.appendChild(b);
  }
  return row;
}

function renderModal() {
  const root = $("modal-root");
  const stack = (page.state.modals[page.me] || []);
  const top = stack[stack.length - 1];
  const key = top ? `${page.me}:${top.view.id}:${top.view.hash}:${JSON.stringify(top.errors)}` : null;
  if (key === page.modalKey) return; // unchanged: keep what the person is typing
  page.modalKey = key;
  root.replaceChildren();
  if (!top) return;
  const view = top.view;
  // The same view drawn again (errors came back): what the person chose stays, as Slack keeps it.
  const valuesKey = `${page.me}:${view.id}:${view.hash}`;
  const values = page.modalValues[valuesKey] || (page.modalValues = { [valuesKey]: {} })[valuesKey];
  const shade = document.createElement("div");
  shade.className = "modal-shade";
  const modal = document.createElement("div");
  modal.className = "modal";
  modal.dataset.viewId = view.id;
  modal.innerHTML = `<div class="modal-title">${textHtml(view.title, {})}</div>`;
  const body = document.createElement("div");
  body.className = "modal-body";
  body.appendChild(renderBlocks(view.blocks, ctxFor({ type: "view", view_id: view.id }, values, top.errors)));
  const foot = document.createElement("div");
  foot.className = "modal-foot";
  const close = document.createElement("button");
  close.className = "btn";
  close.dataset.role = "modal-close";
  close.innerHTML = textHtml(view.close || { type: "plain_text", text: "Cancel" }, {});
  close.onclick = () => post("close", { view_id: view.id });
  foot.appendChild(close);
  if (view.submit) {
    const submit = document.createElement("button");
    submit.className = "btn primary";
    submit.dataset.role = "modal-submit";
    submit.innerHTML = textHtml(view.submit, {});
    submit.onclick = () => post("submit", { view_id: view.id, values });
    foot.appendChild(submit);
  }
  modal.append(body, foot);
  shade.appendChild(modal);
  root.appendChild(shade);
}

function renderStatuses() {
  // Each person's Slack status, as Slack shows it beside their name (what /meet presence sets and gives back).
  const s = page.state;
  $("statuses").replaceChildren(...s.people.map((p) => {
    const status = (s.statuses || {})[p.id] || {};
    const row = document.createElement("div");
    row.className = "status-row";
    row.dataset.status = p.id;
    row.innerHTML = `<span class="status-name">${esc(p.name)}</span> ` +
      `<span class="status-text">${mrkdwn(status.emoji || "", {})} ${esc(status.text || "")}</span>`;
    return row;
  }));
}

function render() {
  if (!page.state) return;
  renderStatuses();
  renderCenter();
  renderThread();
  renderMeet();
  renderModal();
}

function setUp() {
  const me = $("me");
  for (const [id, name] of [["U0ALICE", "Alice"], ["U0BOB", "Bob"], ["U0CAROL", "Carol"]]) {
    const o = document.createElement("option");
    o.value = id; o.textContent = name;
    me.appendChild(o);
  }
  me.value = page.me;
  me.onchange = () => {
    page.me = me.value;
    localStorage.setItem("sandbox-me", page.me);
    page.modalKey = null;
    if (page.view === "home") post("home", {});
    render();
  };
  for (const name of ["channel", "home", "dm"]) {
    $(`nav-${name}`).onclick = () => {
      page.view = name;
      if (name === "home") post("home", {});
      render();
    };
  }
  setUpMentions();
  $("shortcut-start").onclick = () => post("shortcut", { callback_id: "meet_start" });
  $("composer").onsubmit = async (event) => {
    event.preventDefault();
    const text = $("box").value.trim();
    if (!text) return;
    $("box").value = "";
    if (text === "/meet" || text.startsWith("/meet ")) await post("command", { text: text.slice(5).trim() });
    else if (text.startsWith("/")) alert(`${text.split(" ")[0]} is not a valid command here: only /meet is installed`);
    else await post("message", { text });
  };
  const stream = new EventSource("/api/stream");
  stream.onmessage = (event) => {
    page.state = JSON.parse(event.data);
    document.body.dataset.ready = "yes";
    render();
  };
}

function setUpMentions() {
  // Typing @ offers the people of the workspace, as Slack does; the server turns @name into a mention.
  const box = $("box");
  const list = $("people");
  const word = () => (box.value.slice(0, box.selectionStart).match(/@([\w.-]*)$/) || [])[1];
  const pick = (name) => {
    const before = box.value.slice(0, box.selectionStart).replace(/@[\w.-]*$/, `@${name} `);
    box.value = before + box.value.slice(box.selectionStart);
    box.setSelectionRange(before.length, before.length);
    list.hidden = true;
    box.focus();
  };
  box.addEventListener("input", () => {
    const typed = word();
    const people = typed === undefined || !page.state ? [] : page.state.people.filter((p) =>
      p.name.toLowerCase().startsWith(typed.toLowerCase()));
    list.replaceChildren(...people.map((p) => {
      const item = document.createElement("div");
      item.className = "person";
      item.dataset.person = p.name.toLowerCase();
      item.textContent = `@${p.name.toLowerCase()}  ${p.name}`;
      item.onmousedown = (event) => { event.preventDefault(); pick(p.name.toLowerCase()); };
      return item;
    }));
    list.hidden = !people.length;
  });
  box.addEventListener("keydown", (event) => {
    if (list.hidden || (event.key !== "Tab" && event.key !== "Enter")) return;
    event.preventDefault();
    pick(list.firstChild.dataset.person);
  });
}

setUp();

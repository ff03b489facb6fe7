// Block Kit as Slack draws it, for the block types and elements meetbot uses. Input: the payloads the Slack
// emulator validated and kept. Output: DOM nodes. Clicks go to ctx.act(element, blockId, extra); inputs keep their
// values in ctx.values (the `state.values` Slack sends with a submission or a click).
(() => {
"use strict";

const EMOJI = {
  white_check_mark: "✅", warning: "⚠️", hourglass_flowing_sand: "⏳", hourglass: "⌛", white_circle: "⚪",
  no_entry: "⛔", no_entry_sign: "🚫", link: "🔗", large_green_circle: "🟢", red_circle: "🔴",
  large_blue_circle: "🔵", large_yellow_circle: "🟡", black_circle: "⚫", door: "🚪", wave: "👋",
  video_camera: "📹", movie_camera: "🎥", calendar: "📅", page_facing_up: "📄", memo: "📝",
  information_source: "ℹ️", thinking_face: "🤔", grey_question: "❔", question: "❓", clipboard: "📋", lock: "🔒", key: "🔑",
  gear: "⚙️", busts_in_silhouette: "👥", bust_in_silhouette: "👤", sparkles: "✨", tada: "🎉", x: "❌",
  house: "🏠", speech_balloon: "💬", stopwatch: "⏱️", zap: "⚡", eyes: "👀", heavy_check_mark: "✔️",
  arrows_counterclockwise: "🔄", mag: "🔍", bulb: "💡", robot_face: "🤖", spiral_note_pad: "🗒️",
};

function esc(text) {
  return String(text).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;",
    "'": "&#39;" })[c]);
}

function unslack(text) { // Slack's own three escapes, undone before we escape for HTML
  return text.replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&amp;/g, "&");
}

function emoji(html) {
  return html.replace(/:([a-z0-9_+'-]+):/g, (all, name) => EMOJI[name] || all);
}

const pad = (n) => String(n).padStart(2, "0");
const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

function slackDate(seconds, format) { // <!date^…^format|fallback>, in the reader's own time zone as Slack does
  const d = new Date(seconds * 1000);
  const time = `${pad(d.getHours())}:${pad(d.getMinutes())}`;
  const short = `${MONTHS[d.getMonth()]} ${d.getDate()}`;
  return format.replace(/\{time\}/g, time).replace(/\{time_secs\}/g, `${time}:${pad(d.getSeconds())}`)
    .replace(/\{date_short\}|\{date_short_pretty\}/g, short)
    .replace(/\{date\}|\{date_long\}|\{date_pretty\}|\{date_long_pretty\}/g, `${short}, ${d.getFullYear()}`)
    .replace(/\{date_num\}/g, `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`)
    .replace(/\{ago\}/g, `${Math.max(0, Math.round((Date.now() - d) / 60000))} min ago`);
}

function token(inner, ctx) { // what sits between < and > in mrkdwn
  if (inner.startsWith("@")) {
    const id = inner.slice(1).split("|")[0];
    return `<span class="mention">@${esc((ctx.users || {})[id] || inner.split("|")[1] || id)}</span>`;
  }
  if (inner.startsWith("#")) {
    const [id, name] = inner.slice(1).split("|");
    return `<span class="mention">#${esc(name || (ctx.channels || {})[id] || id)}</span>`;
  }
  if (inner.startsWith("!date^")) {
    const [spec, fallback] = inner.split("|");
    const parts = spec.split("^");
    const seconds = Number(parts[1]);
    return Number.isFinite(seconds) ? esc(slackDate(seconds, parts[2] || "{date}")) : esc(fallback || "");
  }
  if (inner.startsWith("!")) return `<span class="mention">@${esc(inner.slice(1).split("|")[0])}</span>`;
  const [url, label] = inner.split("|");
  return `<a href="${esc(unslack(url))}" target="_blank" rel="noopener">${esc(unslack(label || url))}</a>`;
}

function inline(text) { // *bold*, _italic_, ~strike~ and emoji on already-escaped HTML
  return emoji(text)
    .replace(/(^|[^\w*])\*(?!\s)([^*\n]+?)\*(?!\w)/g, "$1<b>$2</b>")
    .replace(/(^|[^\w_])_(?!\s)([^_\n]+?)_(?!\w)/g, "$1<i>$2</i>")
    .replace(/(^|[^\w~])~(?!\s)([^~\n]+?)~(?!\w)/g, "$1<s>$2</s>");
}

function mrkdwn(text, ctx) {
  const parts = [];
  // ```pre```, `code` and <tokens> first: nothing inside them is formatted.
  const re = /```([\s\S]*?)```|`([^`\n]+)`|<([^<>\n]+)>/g;
  let last = 0;
  let match;
  const source = String(text || "");
  while ((match = re.exec(source)) !== null) {
    parts.push(inline(esc(unslack(source.slice(last, match.index)))));
    if (match[1] !== undefined) parts.push(`<pre>${esc(unslack(match[1]))}</pre>`);
    else if (match[2] !== undefined) parts.push(`<code>${esc(unslack(match[2]))}</code>`);
    else parts.push(token(match[3], ctx));
    last = re.lastIndex;
  }
  parts.push(inline(esc(unslack(source.slice(last)))));
  return parts.join("").replace(/\n/g, "<br>");
}

function textHtml(obj, ctx) {
  if (!obj) return "";
  if (obj.type === "mrkdwn") return mrkdwn(obj.text, ctx);
  return obj.emoji === false ? esc(obj.text) : emoji(esc(obj.text));
}

function el(tag, cls, html) {
  const node = document.createElement(tag);
  if (cls) node.className = cls;
  if (html !== undefined) node.innerHTML = html;
  return node;
}

function confirmThen(confirm, ctx, go) { // a button's confirm dialog, as Slack shows it before sending anything
  if (!confirm) { go(); return; }
  const shade = el("div", "confirm-shade");
  const box = el("div", "confirm");
  box.appendChild(el("h3", "", textHtml(confirm.title, ctx)));
  box.appendChild(el("p", "", textHtml(confirm.text, ctx)));
  const row = el("div", "confirm-buttons");
  const deny = el("button", "btn", textHtml(confirm.deny || { type: "plain_text", text: "Cancel" }, ctx));
  const ok = el("button", `btn ${confirm.style === "danger" ? "danger" : "primary"}`,
    textHtml(confirm.confirm || { type: "plain_text", text: "Yes" }, ctx));
  deny.dataset.role = "confirm-deny";
  ok.dataset.role = "confirm-ok";
  deny.onclick = () => shade.remove();
  ok.onclick = () => { shade.remove(); go(); };
  row.append(deny, ok);
  box.appendChild(row);
  shade.appendChild(box);
  document.body.appendChild(shade);
}

function setValue(ctx, blockId, actionId, value) {
  if (!ctx.values) return;
  ctx.values[blockId] = ctx.values[blockId] || {};
  ctx.values[blockId][actionId] = value;
}

function option(o) { return { text: o.text, value: o.value }; }

function userChoices(ctx) { return (ctx.people || []).map((p) => ({ id: p.id, name: p.name })); }

function selectElement(element, blockId, ctx, inAction) {
  const type = element.type;
  const select = el("select", "bk-select");
  select.dataset.actionId = element.action_id;
  select.dataset.blockId = blockId;
  const multi = type.startsWith("multi_");
  if (multi) select.multiple = true;
  let choices = [];
  if (type === "static_select" || type === "multi_static_select") {
    const groups = element.option_groups ? element.option_groups.flatMap((g) => g.options) : (element.options || []);
    choices = groups.map((o) => ({ value: o.value, label: o.text.text, raw: o }));
  } else if (type.includes("users_select")) {
    choices = userChoices(ctx).map((u) => ({ value: u.id, label: u.name }));
  } else if (type.includes("conversations_select") || type.includes("channels_select")) {
    choices = (ctx.conversations || []).map((c) => ({ value: c.id, label: `#${c.name}` }));
  }
  if (!multi) {
    const none = el("option", "", esc(element.placeholder ? element.placeholder.text : "Select an item"));
    none.value = "";
    select.appendChild(none);
  }
  // Drawn again (a modal came back with errors): what the person chose wins over the view's initial values.
  const kept = ctx.values && ctx.values[blockId] && ctx.values[blockId][element.action_id];
  const initial = new Set((kept ? [
    kept.selected_option && kept.selected_option.value, kept.selected_user, kept.selected_conversation,
    kept.selected_channel, ...(kept.selected_users || []), ...((kept.selected_options || []).map((o) => o.value)),
  ] : [
    element.initial_option && element.initial_option.value, element.initial_user, element.initial_conversation,
    element.initial_channel, ...(element.initial_users || []), ...((element.initial_options || []).map((o) => o.value)),
  ]).filter(Boolean));
  for (const c of choices) {
    const node = el("option", "", esc(c.label));
    node.value = c.value;
    if (initial.has(c.value)) node.selected = true;
    select.appendChild(node);
  }
  const stateOf = () => {
    const picked = [...select.selectedOptions].map((o) => o.value).filter(Boolean);
    const base = { type };
    if (type === "static_select") {
      const c = choices.find((x) => x.value === picked[0]);
      base.selected_option = c ? option(c.raw) : null;
    } else if (type === "multi_static_select") {
      base.selected_options = choices.filter((x) => picked.includes(x.value)).map((x) => option(x.raw));
    } else if (type === "users_select") base.selected_user = picked[0] || null;
    else if (type === "multi_users_select") base.selected_users = picked;
    else if (type === "conversations_select") base.selected_conversation = picked[0] || null;
    else if (type === "channels_select") base.selected_channel = picked[0] || null;
    return base;
  };
  setValue(ctx, blockId, element.action_id, stateOf());
  select.onchange = () => {
    const value = stateOf();
    setValue(ctx, blockId, element.action_id, value);
    if (inAction) confirmThen(element.confirm, ctx, () => ctx.act(element, blockId, value));
  };
  return select;
}

function button(element, blockId, ctx) {
  const node = el("button", `btn ${element.style || ""}`, textHtml(element.text, ctx));
  node.dataset.actionId = element.action_id;
  node.dataset.blockId = blockId;
  node.onclick = () => confirmThen(element.confirm, ctx, () => {
    if (element.url && ctx.openUrl) ctx.openUrl(element.url);
    ctx.act(element, blockId, { type: "button", text: element.text, value: element.value, url: element.url,
      style: element.style });
  });
  return node;
}

function overflow(element, blockId, ctx) {
  const wrap = el("span", "overflow");
  const dots = el("button", "btn overflow-button", "⋮");
  dots.dataset.actionId = element.action_id;
  const menu = el("div", "overflow-menu");
  for (const o of element.options || []) {
    const item = el("div", "overflow-item", textHtml(o.text, ctx));
    item.onclick = () => {
      menu.classList.remove("open");
      confirmThen(element.confirm, ctx, () => {
        if (o.url && ctx.openUrl) ctx.openUrl(o.url);
        ctx.act(element, blockId, { type: "overflow", selected_option: option(o) });
      });
    };
    menu.appendChild(item);
  }
  dots.onclick = () => menu.classList.toggle("open");
  wrap.append(dots, menu);
  return wrap;
}

function textInput(element, blockId, ctx) {
  const multi = element.multiline;
  const node = el(multi ? "textarea" : "input", "bk-input");
  node.dataset.actionId = element.action_id;
  node.dataset.blockId = blockId;
  if (element.placeholder) node.placeholder = element.placeholder.text;
  if (element.max_length) node.maxLength = element.max_length;
  const kept = ctx.values && ctx.values[blockId] && ctx.values[blockId][element.action_id];
  node.value = kept ? kept.value || "" : element.initial_value || "";
  const save = () => setValue(ctx, blockId, element.action_id, { type: "plain_text_input", value: node.value });
  save();
  node.oninput = save;
  return node;
}

function element(elem, blockId, ctx, inAction) {
  switch (elem.type) {
    case "button": return button(elem, blockId, ctx);
    case "overflow": return overflow(elem, blockId, ctx);
    case "plain_text_input": return textInput(elem, blockId, ctx);
    case "image": {
      const img = el("img", "bk-image-small");
      img.src = elem.image_url; img.alt = elem.alt_text || "";
      return img;
    }
    default:
      if (/select$/.test(elem.type)) return selectElement(elem, blockId, ctx, inAction);
      return el("span", "bk-unknown", esc(`[${elem.type}]`));
  }
}

function minutes(seconds) {
  const m = Math.max(0, Math.round(seconds / 60));
  return m >= 60 ? `${Math.floor(m / 60)} h ${m % 60} min` : `${m} min`;
}

function callCard(b, ctx) { // Slack's call object: title, display id, who is in it, its duration once ended, Join
  const call = (ctx.calls || {})[b.call_id];
  const node = el("div", "bk-call");
  node.dataset.callId = b.call_id || "";
  if (!call) { node.appendChild(el("div", "bk-call-missing", esc("[a call this client can't show]"))); return node; }
  const head = el("div", "bk-call-head");
  head.appendChild(el("span", "bk-call-icon", "📹"));
  const title = el("div", "bk-call-title");
  title.appendChild(el("b", "", esc(call.title || "Call")));
  if (call.external_display_id) title.appendChild(el("span", "bk-call-id", esc(` · ${call.external_display_id}`)));
  head.appendChild(title);
  node.appendChild(head);
  const ended = call.date_end !== undefined && call.date_end !== null;
  const status = ended ? `Ended · lasted ${minutes(call.duration || 0)}`
    : `Live · ${(call.users || []).length} in the call`;
  node.appendChild(el("div", "bk-call-status", esc(status)));
  const people = el("div", "bk-call-people");
  for (const user of call.users || []) {
    const name = user.slack_id ? ((ctx.users || {})[user.slack_id] || user.slack_id) : (user.display_name || "?");
    const person = el("span", "bk-call-person");
    person.dataset.name = name;
    person.appendChild(el("span", "bk-call-avatar", esc(name.slice(0, 1).toUpperCase())));
    person.appendChild(el("span", "bk-call-name", esc(name)));
    people.appendChild(person);
  }
  node.appendChild(people);
  if (!ended) {
    const join = el("button", "btn primary bk-call-join", "Join");
    join.onclick = () => (ctx.openUrl ? ctx.openUrl(call.join_url) : window.open(call.join_url, "_blank"));
    node.appendChild(join);
  }
  return node;
}

function block(b, ctx) {
  const id = b.block_id || "";
  switch (b.type) {
    case "header": return el("div", "bk-header", textHtml(b.text, ctx));
    case "divider": return el("hr", "bk-divider");
    case "context": {
      const node = el("div", "bk-context");
      for (const item of b.elements || []) {
        if (item.type === "image") {
          const img = el("img", "bk-context-image"); img.src = item.image_url; img.alt = item.alt_text || "";
          node.appendChild(img);
        } else node.appendChild(el("span", "", textHtml(item, ctx)));
      }
      return node;
    }
    case "section": {
      const node = el("div", "bk-section");
      const body = el("div", "bk-section-body");
      if (b.text) body.appendChild(el("div", "bk-text", textHtml(b.text, ctx)));
      if (b.fields) {
        const grid = el("div", "bk-fields");
        for (const f of b.fields) grid.appendChild(el("div", "bk-field", textHtml(f, ctx)));
        body.appendChild(grid);
      }
      node.appendChild(body);
      if (b.accessory) {
        const acc = el("div", "bk-accessory");
        acc.appendChild(element(b.accessory, id, ctx, true));
        node.appendChild(acc);
      }
      return node;
    }
    case "actions": {
      const node = el("div", "bk-actions");
      for (const item of b.elements || []) node.appendChild(element(item, id, ctx, true));
      return node;
    }
    case "input": {
      const node = el("div", "bk-input-block");
      node.dataset.blockId = id;
      const label = el("label", "bk-label", textHtml(b.label, ctx));
      if (b.optional) label.appendChild(el("span", "bk-optional", " (optional)"));
      node.appendChild(label);
      node.appendChild(element(b.element, id, ctx, Boolean(b.dispatch_action)));
      if (b.hint) node.appendChild(el("div", "bk-hint", textHtml(b.hint, ctx)));
      const error = (ctx.errors || {})[id];
      if (error) { node.classList.add("has-error"); node.appendChild(el("div", "bk-error", esc(error))); }
      return node;
    }
    case "image": {
      const node = el("div", "bk-image");
      const img = el("img"); img.src = b.image_url; img.alt = b.alt_text || "";
      node.appendChild(img);
      return node;
    }
    case "call": return callCard(b, ctx);
    default: return el("div", "bk-unknown", esc(`[unsupported block ${b.type}]`));
  }
}

function renderBlocks(blocks, ctx) {
  const wrap = el("div", "bk");
  for (const b of blocks || []) wrap.appendChild(block(b, ctx));
  return wrap;
}

window.BlockKit = { renderBlocks, mrkdwn, textHtml, esc, confirmThen };
})();

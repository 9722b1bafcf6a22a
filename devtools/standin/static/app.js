// Slack stand-in page: renders the state from GET /api/state (long poll) and sends what the
// person does to the stand-in server, which signs it and POSTs it to the bot. Plain JS, no build.
"use strict";

(() => {
  // ------------------------------------------------------------------------------ helpers
  const $ = (sel, root = document) => root.querySelector(sel);
  const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

  /** Create an element: h("div", {class: "x", onclick: fn}, child, "text", ...). */
  function h(tag, attrs, ...children) {
    const el = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === undefined || v === null || v === false) continue;
      if (k.startsWith("on") && typeof v === "function") el.addEventListener(k.slice(2), v);
      else if (k === "html") el.innerHTML = v;
      else if (k === "dataset") Object.assign(el.dataset, v);
      else el.setAttribute(k, v === true ? "" : String(v));
    }
    for (const c of children.flat()) {
      if (c === undefined || c === null || c === false) continue;
      el.append(c instanceof Node ? c : document.createTextNode(String(c)));
    }
    return el;
  }

  /** Escape for HTML while keeping Slack's own entities (&amp; &lt; &gt;) as they are. */
  function escEntities(s) {
    return String(s)
      .replace(/&(?!(?:amp|lt|gt|quot|#\d+);)/g, "&amp;")
      .replace(/</g, "&lt;")
      .replace(/>/g, "&gt;")
      .replace(/"/g, "&quot;");
  }
  /** Escape arbitrary text for HTML. */
  function esc(s) {
    return String(s)
      .replace(/&/g, "&amp;")
      .replace(/</g, "&lt;")
      .replace(/>/g, "&gt;")
      .replace(/"/g, "&quot;");
  }

  const EMOJI = {
    white_check_mark: "✅", heavy_check_mark: "✔️", x: "❌", warning: "⚠️", red_circle: "🔴",
    large_yellow_circle: "🟡", large_green_circle: "🟢", white_circle: "⚪", large_blue_circle: "🔵",
    large_orange_circle: "🟠", rotating_light: "🚨", no_entry: "⛔", no_entry_sign: "🚫",
    key: "🔑", lock: "🔒", unlock: "🔓", hourglass: "⌛", hourglass_flowing_sand: "⏳",
    calendar: "📅", mag: "🔍", sos: "🆘", satellite: "📡", cloud: "☁️", information_source: "ℹ️",
    bell: "🔔", alarm_clock: "⏰", zzz: "💤", eyes: "👀", repeat: "🔁", memory: "📝",
    door: "🚪", house: "🏠", wrench: "🔧", tada: "🎉", thumbsup: "👍", "+1": "👍",
    battery: "🔋", electric_plug: "🔌", broken_heart: "💔", question: "❓", exclamation: "❗",
    arrows_counterclockwise: "🔄", clock3: "🕒", stopwatch: "⏱️", wave: "👋", bulb: "💡",
  };
  function emojify(html) {
    return html.replace(/:([a-z0-9_+-]+):/g, (m, name) =>
      EMOJI[name] ? `<span class="emoji" title=":${name}:">${EMOJI[name]}</span>` : m);
  }

  // ------------------------------------------------------------------------- Slack dates
  const MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August",
    "September", "October", "November", "December"];
  const DAYS = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"];
  const pad = (n) => String(n).padStart(2, "0");
  function ordinal(n) {
    const s = ["th", "st", "nd", "rd"], v = n % 100;
    return n + (s[(v - 20) % 10] || s[v] || s[0]);
  }
  function clock(d, secs) {
    const hr = d.getHours() % 12 || 12;
    const ampm = d.getHours() < 12 ? "AM" : "PM";
    return `${hr}:${pad(d.getMinutes())}${secs ? ":" + pad(d.getSeconds()) : ""} ${ampm}`;
  }
  function ago(d) {
    const s = Math.round((Date.now() - d.getTime()) / 1000);
    const a = Math.abs(s);
    const unit = a < 60 ? [a, "second"] : a < 3600 ? [Math.round(a / 60), "minute"]
      : a < 86400 ? [Math.round(a / 3600), "hour"] : [Math.round(a / 86400), "day"];
    const text = `${unit[0]} ${unit[1]}${unit[0] === 1 ? "" : "s"}`;
    return s >= 0 ? `${text} ago` : `in ${text}`;
  }
  /** Render `<!date^ts^format|fallback>` in the viewer's local time, as Slack does. */
  function slackDate(seconds, format) {
    const d = new Date(seconds * 1000);
    const day0 = (x) => new Date(x.getFullYear(), x.getMonth(), x.getDate()).getTime();
    const diff = Math.round((day0(d) - day0(new Date())) / 86400000);
    const rel = diff === 0 ? "Today" : diff === 1 ? "Tomorrow" : diff === -1 ? "Yesterday" : null;
    const y = d.getFullYear(), mo = d.getMonth(), dd = d.getDate();
    const parts = {
      date_num: `${y}-${pad(mo + 1)}-${pad(dd)}`,
      date: `${MONTHS[mo]} ${ordinal(dd)}, ${y}`,
      date_short: `${MONTHS[mo].slice(0, 3)} ${dd}, ${y}`,
      date_long: `${DAYS[d.getDay()]}, ${MONTHS[mo]} ${ordinal(dd)}, ${y}`,
      time: clock(d, false),
      time_secs: clock(d, true),
      ago: ago(d),
    };
    parts.date_pretty = rel || parts.date;
    parts.date_short_pretty = rel || parts.date_short;
    parts.date_long_pretty = rel || parts.date_long;
    return format.replace(/\{(\w+)\}/g, (m, k) => (k in parts ? parts[k] : m));
  }

  // ------------------------------------------------------------------------------ mrkdwn
  function renderToken(token, names) {
    const bar = token.indexOf("|");
    const target = bar >= 0 ? token.slice(0, bar) : token;
    const label = bar >= 0 ? token.slice(bar + 1) : "";
    if (target.startsWith("@")) {
      const id = target.slice(1);
      const name = label || (names.users && names.users[id]) || id;
      return `<span class="mention">@${escEntities(name)}</span>`;
    }
    if (target.startsWith("#")) {
      const id = target.slice(1);
      const name = label || (names.channels && names.channels[id]) || id;
      return `<span class="mention">#${escEntities(name)}</span>`;
    }
    if (target.startsWith("!date^")) {
      const [, ts, fmt, link] = target.split("^");
      const seconds = Number(ts);
      if (!Number.isFinite(seconds) || !fmt) return escEntities(label || token);
      const text = esc(slackDate(seconds, fmt));
      const title = esc(new Date(seconds * 1000).toString());
      const inner = `<time class="slack-date" datetime="${esc(new Date(seconds * 1000).toISOString())}" title="${title}">${text}</time>`;
      return link && /^https?:/i.test(link)
        ? `<a href="${esc(link)}" target="_blank" rel="noopener noreferrer">${inner}</a>` : inner;
    }
    if (target.startsWith("!subteam^")) return `<span class="mention">${escEntities(label || "@group")}</span>`;
    if (target.startsWith("!")) return `<span class="mention">@${escEntities(label || target.slice(1))}</span>`;
    if (/^(https?:|mailto:)/i.test(target)) {
      return `<a href="${esc(target)}" target="_blank" rel="noopener noreferrer">${escEntities(label || target)}</a>`;
    }
    return escEntities(`<${token}>`);
  }

  /** Slack mrkdwn → HTML: code, pre, bold, italic, strike, quotes, links, mentions, dates. */
  function mrkdwn(src, names) {
    const slots = [];
    const hold = (html) => `\u0000${slots.push(html) - 1}\u0001`;
    let s = String(src || "");
    s = s.replace(/```([\s\S]*?)```/g, (_, code) => hold(`<pre>${escEntities(code.replace(/^\n/, ""))}</pre>`));
    s = s.replace(/`([^`\n]+)`/g, (_, code) => hold(`<code>${escEntities(code)}</code>`));
    s = s.replace(/<([^<>\n]+)>/g, (_, token) => hold(renderToken(token, names)));
    s = escEntities(s);
    s = s.replace(/(^|[^\w*])\*(?!\s)([^*\n]*?[^\s*])\*(?![\w*])/g, "$1<b>$2</b>");
    s = s.replace(/(^|[^\w_])_(?!\s)([^_\n]*?[^\s_])_(?![\w_])/g, "$1<i>$2</i>");
    s = s.replace(/(^|[^\w~])~(?!\s)([^~\n]*?[^\s~])~(?![\w~])/g, "$1<s>$2</s>");
    s = emojify(s);
    s = s.split("\n").map((line) => (line.startsWith("&gt; ") ? `<span class="quote">${line.slice(5)}</span>` : line)).join("\n");
    s = s.replace(/\n/g, "<br>");
    return s.replace(/\u0000(\d+)\u0001/g, (_, i) => slots[Number(i)]);
  }

  /** A text object (plain_text or mrkdwn) as an element. */
  function textEl(obj, names, tag = "span") {
    if (!obj) return h(tag, {});
    if (obj.type === "mrkdwn") return h(tag, { class: "mrkdwn", html: mrkdwn(obj.text, names) });
    return h(tag, { html: emojify(esc(obj.text || "")) });
  }
  const plainText = (obj) => (obj && obj.text) || "";

  // ------------------------------------------------------------------------------- state
  const App = {
    revision: -1,
    state: null,
    channel: null,
    surface: "channel", // or "home"
    modalKey: "",
    localErrors: {},
    dismissed: new Set(),
    collapsed: new Set(),
    history: [],
    historyAt: -1,
    nodes: new Map(),
    // The answer (an ephemeral message) kept in view while alerts stream in below it, until
    // the reader scrolls or sends something else; `seen` tells a new answer from one on load.
    follow: null,
    seen: new Set(),
    seenChannels: new Set(),
  };

  async function api(path, body) {
    try {
      const resp = await fetch(path, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify(body || {}),
      });
      const data = await resp.json().catch(() => ({ ok: false, error: `HTTP ${resp.status}` }));
      if (!resp.ok && data.error) localNotice("error", data.error);
      return data;
    } catch (err) {
      localNotice("error", `The stand-in server is not answering (${err.message}).`);
      return { ok: false };
    }
  }

  const localNotices = [];
  function localNotice(level, text) {
    localNotices.push({ id: `local-${Date.now()}-${Math.random()}`, level, text, at: Date.now() / 1000 });
    renderNotices();
  }

  function setOnline(ok) {
    const conn = $("#conn");
    conn.textContent = ok ? "live" : "reconnecting…";
    conn.className = `conn ${ok ? "online" : "offline"}`;
  }

  async function poll() {
    for (;;) {
      try {
        const resp = await fetch(`/api/state?since=${App.revision}&wait=20`, { cache: "no-store" });
        if (!resp.ok) throw new Error(`HTTP ${resp.status}`);
        const st = await resp.json();
        setOnline(true);
        if (st.revision !== App.revision || !App.state) {
          App.revision = st.revision;
          App.state = st;
          render();
        }
      } catch (err) {
        setOnline(false);
        await sleep(1000);
      }
    }
  }

  // ------------------------------------------------------------------------------ render
  function render() {
    const st = App.state;
    if (!st) return;
    if (!App.channel || !st.channels.some((c) => c.id === App.channel)) App.channel = st.channels[0].id;
    $("#banner").textContent = st.banner;
    renderSidebar(st);
    if (App.surface === "home") renderHome(st);
    else renderChannel(st);
    renderNotices();
    renderModal(st.modal);
  }

  function renderSidebar(st) {
    const list = $("#channel-list");
    list.replaceChildren(...st.channels.map((c) => h("li", {},
      h("button", {
        type: "button",
        class: `side-item${App.surface === "channel" && App.channel === c.id ? " active" : ""}`,
        onclick: () => {
          App.surface = "channel"; App.channel = c.id; stopFollowing(); closeSidebar(); render(); scrollToBottom();
        },
      }, h("span", { class: "side-icon" }, "#"), c.name))));
    $("#home-link").classList.toggle("active", App.surface === "home");
    const sugg = $("#suggestions");
    if (sugg.dataset.count !== String(st.suggestions.length)) {
      sugg.dataset.count = String(st.suggestions.length);
      sugg.replaceChildren(...st.suggestions.map((s) => h("li", {},
        h("button", {
          type: "button",
          class: "side-item",
          title: `${s.detail ? s.detail + "\n" : ""}${s.command}`,
          onclick: () => { closeSidebar(); runCommand(s.command); },
        },
        h("span", { class: "suggestion-label" }, s.label),
        h("span", { class: "suggestion-id mono" }, s.access_code_id)))));
    }
  }

  function timeOf(ts) {
    return clock(new Date(Number(ts) * 1000), false);
  }

  function renderChannel(st) {
    const channel = st.channels.find((c) => c.id === App.channel);
    $("#channel-title").textContent = `# ${channel.name}`;
    $("#channel-topic").textContent = channel.id === st.channels[0].id
      ? "Alerts about Seam access codes from the bot's scans" : channel.id;
    $(".composer").hidden = false;
    $("#composer-input").placeholder = `Message #${channel.name} — type /seam-code <access_code_id> and press Enter`;
    const box = $("#messages");
    const nearBottom = box.scrollHeight - box.scrollTop - box.clientHeight < 120;
    const keep = box.scrollTop;
    const loaded = App.seenChannels.has(channel.id);
    const nodes = [];
    // Reuse the DOM of unchanged messages so open menus, selects and focus survive updates.
    const cache = new Map();
    const fixed = (key, make) => {
      const hit = App.nodes.get(key);
      const node = hit ? hit.node : make();
      cache.set(key, { sig: "", node });
      nodes.push(node);
    };
    if (st.intro && channel.id === st.channels[0].id) {
      fixed(`${channel.id}:intro`, () => h("div", { class: "intro", html: mrkdwn(st.intro, st.names) }));
    }
    if (!channel.items.length) {
      fixed(`${channel.id}:empty`, () => h("div", { class: "empty" }, "No messages yet. Alerts appear here as the bot scans Seam."));
    }
    for (const item of channel.items) {
      const key = `${channel.id}:${item.kind}:${item.id || item.ts}`;
      const sig = JSON.stringify(item) + (App.collapsed.has(`${channel.id}:${item.ts}`) ? "-" : "+");
      const hit = App.nodes.get(key);
      const node = hit && hit.sig === sig ? hit.node : renderItem(item, st, channel.id, false);
      // A new or changed answer, after the first look at this channel, is followed.
      if (loaded && item.kind === "ephemeral" && (!App.seen.has(key) || (hit && hit.sig !== sig))) {
        App.follow = key;
      }
      App.seen.add(key);
      cache.set(key, { sig, node });
      nodes.push(node);
    }
    App.seenChannels.add(channel.id);
    App.nodes = cache;
    const same = nodes.length === box.children.length && nodes.every((n, i) => box.children[i] === n);
    if (!same) box.replaceChildren(...nodes);
    const followed = App.follow && cache.get(App.follow);
    if (followed) reveal(followed.node);
    else if (nearBottom) scrollToBottom();
    else box.scrollTop = keep;
  }

  function scrollToBottom() {
    const box = $("#messages");
    box.scrollTop = box.scrollHeight;
  }

  /** Scroll the message list just enough to show `node` (its top, when it is too tall). */
  function reveal(node) {
    const box = $("#messages");
    const r = node.getBoundingClientRect();
    const b = box.getBoundingClientRect();
    if (r.top >= b.top && r.bottom <= b.bottom) return;
    const delta = r.top < b.top || r.height > b.height ? r.top - b.top - 8 : r.bottom - b.bottom + 8;
    box.scrollTop += delta;
  }

  /** The reader scrolled by hand: stop keeping the last answer in view. */
  function stopFollowing() { App.follow = null; }

  function renderHome(st) {
    $("#channel-title").textContent = st.bot.name;
    $("#channel-topic").textContent = "App Home";
    $(".composer").hidden = true;
    App.nodes = new Map();
    const box = $("#messages");
    if (!st.home) {
      box.replaceChildren(h("div", { class: "empty" }, "Opening the Home tab…"));
      return;
    }
    const ctx = { surface: "home", view_id: st.home.id, names: st.names };
    box.replaceChildren(h("div", { class: "msg" }, h("div", { class: "msg-body" }, renderBlocks(st.home.blocks || [], ctx))));
  }

  function renderItem(item, st, channelId, isReply) {
    const eph = item.kind === "ephemeral";
    const ctx = {
      surface: eph ? "ephemeral" : "message",
      channel: channelId,
      ts: item.ts,
      ephemeral_id: item.id,
      names: st.names,
    };
    const slackbot = eph && item.author === "Slackbot";
    const fromBot = (eph && !slackbot) || item.from_bot;
    const name = slackbot ? "Slackbot" : fromBot ? st.bot.name : (st.names.users[item.user] || item.user || "someone");
    const head = h("div", { class: "msg-head" },
      h("span", { class: "msg-name" }, name),
      fromBot ? h("span", { class: "app-badge" }, "APP") : null,
      h("span", { class: "msg-time", title: new Date(Number(item.ts) * 1000).toString() }, timeOf(item.ts)),
      item.edited ? h("span", { class: "edited" }, "(edited)") : null,
      item.replaced ? h("span", { class: "edited" }, "(updated)") : null);
    const content = item.blocks && item.blocks.length
      ? renderBlocks(item.blocks, ctx)
      : h("div", { class: "msg-text mrkdwn", html: mrkdwn(item.text, st.names) });
    const body = h("div", { class: "msg-body" });
    if (eph) {
      body.append(h("div", { class: "eph-label" },
        h("span", { class: "emoji" }, "👁"), "Only visible to you",
        item.context ? h("span", { class: "eph-context" }, "· in reply to ", h("code", {}, item.context)) : null));
    }
    body.append(head, content);
    if (eph) {
      body.append(h("button", {
        type: "button", class: "dismiss",
        onclick: () => api("/api/dismiss", { ephemeral_id: item.id }),
      }, "Dismiss message"));
    }
    const replies = item.replies || [];
    if (replies.length) {
      const key = `${channelId}:${item.ts}`;
      const open = !App.collapsed.has(key);
      const toggle = h("button", {
        type: "button", class: "thread-toggle",
        onclick: () => { if (open) App.collapsed.add(key); else App.collapsed.delete(key); render(); },
      }, `${replies.length} ${replies.length === 1 ? "reply" : "replies"}${open ? " ▾" : " ▸"}`);
      const thread = h("div", { class: "thread" }, toggle);
      if (open) for (const r of replies) thread.append(renderItem(r, st, channelId, true));
      body.append(thread);
    }
    const cls = `${isReply ? "reply" : "msg"}${eph ? " ephemeral" : ""}`;
    return h("div", {
      class: cls,
      dataset: { kind: item.kind, ts: item.ts, id: item.id || "" },
    }, h("div", { class: `avatar${isReply ? " small" : ""}${slackbot ? " slackbot" : ""}` }, slackbot ? "S" : "SC"), body);
  }

  // ------------------------------------------------------------------------------ blocks
  function renderBlocks(blocks, ctx) {
    const wrap = h("div", { class: "blocks" });
    blocks.forEach((block, i) => wrap.append(renderBlock(block, i, ctx)));
    return wrap;
  }

  function renderBlock(block, index, ctx) {
    const names = ctx.names;
    switch (block.type) {
      case "header":
        return h("div", { class: "b-header", html: emojify(esc(plainText(block.text))) });
      case "section": {
        const main = h("div", { class: "b-section-main" });
        if (block.text) main.append(textEl(block.text, names, "div"));
        if (block.fields) {
          main.append(h("div", { class: "b-fields" },
            block.fields.map((f) => textEl(f, names, "div")).map((el) => { el.classList.add("b-field"); return el; })));
        }
        const section = h("div", { class: "b-section" }, main);
        if (block.accessory) section.append(h("div", { class: "b-accessory" }, renderElement(block.accessory, index, -1, ctx)));
        return section;
      }
      case "context":
        return h("div", { class: "b-context" }, (block.elements || []).map((el) =>
          el.type === "image" ? h("img", { src: el.image_url, alt: el.alt_text || "" }) : textEl(el, names)));
      case "divider":
        return h("hr", { class: "b-divider" });
      case "actions":
        return h("div", { class: "b-actions" }, (block.elements || []).map((el, j) => renderElement(el, index, j, ctx)));
      case "image":
        return h("div", { class: "b-image" }, block.title ? h("div", {}, plainText(block.title)) : null,
          h("img", { src: block.image_url, alt: block.alt_text || "" }));
      case "input":
        return renderInput(block, index, ctx);
      case "markdown":
        return h("div", { class: "mrkdwn", html: mrkdwn(block.text, names) });
      default:
        return h("div", { class: "b-unknown" }, `[${block.type} block is not rendered by the stand-in]`);
    }
  }

  function renderElement(el, bIndex, eIndex, ctx) {
    if (el.type === "button") {
      const btn = h("button", {
        type: "button",
        class: `btn${el.style ? " " + el.style : ""}`,
        dataset: { actionId: el.action_id || "" },
      }, plainText(el.text));
      btn.addEventListener("click", () => clickElement(el, bIndex, eIndex, ctx, btn, null));
      return btn;
    }
    if (el.type === "overflow") return renderOverflow(el, bIndex, eIndex, ctx);
    if (el.type === "static_select") {
      const options = (el.options || []).concat(...(el.option_groups || []).map((g) => g.options || []));
      const sel = h("select", { class: "select", "aria-label": plainText(el.placeholder) || "Choose" },
        h("option", { value: "" }, plainText(el.placeholder) || "Select an item"),
        options.map((o) => h("option", { value: o.value }, plainText(o.text))));
      sel.addEventListener("change", () => {
        if (sel.value) clickElement(el, bIndex, eIndex, ctx, sel, sel.value);
      });
      return sel;
    }
    if (el.type === "image") return h("img", { src: el.image_url, alt: el.alt_text || "", width: 48, height: 48 });
    return h("span", { class: "b-unknown" }, `[${el.type}]`);
  }

  /** An overflow menu: a "⋯" button opening a small menu of options. */
  function renderOverflow(el, bIndex, eIndex, ctx) {
    const wrap = h("span", { class: "overflow" });
    const btn = h("button", {
      type: "button", class: "btn overflow-btn", "aria-label": "More actions", "aria-haspopup": "menu",
    }, "⋯");
    const menu = h("div", { class: "menu", role: "menu", hidden: true },
      (el.options || []).map((o) => h("button", {
        type: "button", role: "menuitem", class: "menu-item",
        onclick: () => { menu.hidden = true; clickElement(el, bIndex, eIndex, ctx, btn, o.value); },
      }, plainText(o.text))));
    btn.addEventListener("click", (ev) => {
      ev.stopPropagation();
      const open = menu.hidden;
      closeMenus();
      menu.hidden = !open;
      if (!menu.hidden) {
        // Open upwards when the menu would fall below the visible message list.
        menu.classList.remove("menu-up");
        const list = wrap.closest(".messages") || document.body;
        if (menu.getBoundingClientRect().bottom > list.getBoundingClientRect().bottom) {
          menu.classList.add("menu-up");
        }
      }
    });
    wrap.append(btn, menu);
    return wrap;
  }
  function closeMenus() {
    for (const m of document.querySelectorAll(".menu")) m.hidden = true;
  }
  document.addEventListener("click", closeMenus);

  async function clickElement(el, bIndex, eIndex, ctx, control, selected) {
    if (el.url) window.open(el.url, "_blank", "noopener");
    if (el.confirm && !(await confirmDialog(el.confirm, ctx.names))) {
      if (control.tagName === "SELECT") control.value = "";
      return;
    }
    control.disabled = true;
    control.classList.add("busy");
    const payload = {
      surface: ctx.surface,
      channel: ctx.channel,
      ts: ctx.ts,
      ephemeral_id: ctx.ephemeral_id,
      view_id: ctx.view_id,
      block_index: bIndex,
      element_index: eIndex,
      selected,
    };
    if (ctx.surface === "view") payload.values = collectValues();
    await api("/api/action", payload);
    control.disabled = false;
    control.classList.remove("busy");
  }

  // ------------------------------------------------------------------------ confirm dialog
  let confirmResolve = null;
  function confirmDialog(confirm, names) {
    return new Promise((resolve) => {
      const root = $("#confirm-root");
      const done = (answer) => {
        root.hidden = true;
        root.replaceChildren();
        confirmResolve = null;
        resolve(answer);
      };
      confirmResolve = done;
      const ok = h("button", {
        type: "button",
        class: `btn ${confirm.style === "danger" ? "danger solid" : "primary"}`,
        onclick: () => done(true),
      }, plainText(confirm.confirm) || "Yes");
      root.replaceChildren(h("div", { class: "modal confirm", role: "alertdialog", "aria-modal": "true", "aria-label": plainText(confirm.title) },
        h("div", { class: "modal-head" }, h("div", { class: "modal-title" }, plainText(confirm.title))),
        h("div", { class: "modal-body" }, textEl(confirm.text, names, "div")),
        h("div", { class: "modal-foot" },
          h("button", { type: "button", class: "btn", onclick: () => done(false) }, plainText(confirm.deny) || "Cancel"),
          ok)));
      root.hidden = false;
      ok.focus();
    });
  }

  // ------------------------------------------------------------------------------- modals
  function renderInput(block, index, ctx) {
    const el = block.element || {};
    const blockId = block.block_id || `b${index}`;
    const actionId = el.action_id || `a${index}_0`;
    const fieldId = `in-${blockId}-${actionId}`.replace(/[^\w-]/g, "_");
    const wrap = h("div", {
      class: "input-block",
      dataset: { blockId, actionId, type: el.type, optional: block.optional ? "1" : "" },
    });
    wrap.append(h("label", { class: "input-label", for: fieldId }, plainText(block.label),
      block.optional ? h("span", { class: "input-optional" }, " (optional)") : null));
    const placeholder = plainText(el.placeholder) || undefined;
    let control;
    switch (el.type) {
      case "plain_text_input":
        control = el.multiline
          ? h("textarea", { id: fieldId, placeholder, maxlength: el.max_length })
          : h("input", { id: fieldId, type: "text", placeholder, maxlength: el.max_length });
        control.value = el.initial_value || "";
        break;
      case "number_input":
        control = h("input", { id: fieldId, type: "number", placeholder, step: el.is_decimal_allowed ? "any" : "1" });
        control.value = el.initial_value || "";
        break;
      case "email_text_input":
      case "url_text_input":
        control = h("input", { id: fieldId, type: el.type === "email_text_input" ? "email" : "url", placeholder });
        control.value = el.initial_value || "";
        break;
      case "datepicker":
        control = h("input", { id: fieldId, type: "date" });
        control.value = el.initial_date || "";
        break;
      case "timepicker":
        control = h("input", { id: fieldId, type: "time" });
        control.value = el.initial_time || "";
        break;
      case "datetimepicker":
        // The reader's own time zone, as in Slack; sent as UNIX seconds (selected_date_time).
        control = h("input", { id: fieldId, type: "datetime-local" });
        break;
      case "static_select": {
        const options = (el.options || []).concat(...(el.option_groups || []).map((g) => g.options || []));
        control = h("select", { id: fieldId },
          h("option", { value: "" }, placeholder || "Select an item"),
          options.map((o) => h("option", { value: o.value }, plainText(o.text))));
        if (el.initial_option) control.value = el.initial_option.value;
        break;
      }
      case "radio_buttons":
      case "checkboxes": {
        const multi = el.type === "checkboxes";
        const initial = new Set(multi ? (el.initial_options || []).map((o) => o.value)
          : el.initial_option ? [el.initial_option.value] : []);
        control = h("div", { id: fieldId, role: multi ? "group" : "radiogroup" },
          (el.options || []).map((o) => h("label", { class: "choice" },
            h("input", { type: multi ? "checkbox" : "radio", name: fieldId, value: o.value, checked: initial.has(o.value) }),
            h("span", {}, textEl(o.text, ctx.names), o.description ? h("span", { class: "choice-desc" }, textEl(o.description, ctx.names)) : null))));
        break;
      }
      default:
        control = h("div", { class: "b-unknown" }, `[${el.type} input is not supported by the stand-in]`);
    }
    wrap.append(control);
    if (block.hint) wrap.append(h("div", { class: "input-hint" }, plainText(block.hint)));
    wrap.append(h("div", { class: "input-error", role: "alert", dataset: { errorFor: blockId } }));
    return wrap;
  }

  /** The modal's inputs as {block_id: {action_id: {type, value | selected | selected_list}}}. */
  function collectValues() {
    const values = {};
    for (const wrap of document.querySelectorAll("#modal-root .input-block")) {
      const { blockId, actionId, type } = wrap.dataset;
      let entry = { type };
      if (type === "radio_buttons") {
        const on = wrap.querySelector("input[type=radio]:checked");
        entry.selected = on ? on.value : null;
      } else if (type === "checkboxes") {
        entry.selected_list = [...wrap.querySelectorAll("input[type=checkbox]:checked")].map((i) => i.value);
      } else if (type === "static_select") {
        const sel = wrap.querySelector("select");
        entry.selected = sel && sel.value ? sel.value : null;
      } else if (type === "datetimepicker") {
        const input = wrap.querySelector("input");
        const at = input && input.value ? new Date(input.value).getTime() : NaN;
        entry.value = Number.isFinite(at) ? String(Math.floor(at / 1000)) : "";
      } else {
        const input = wrap.querySelector("input, textarea");
        entry.value = input ? input.value : "";
      }
      (values[blockId] = values[blockId] || {})[actionId] = entry;
    }
    return values;
  }

  function isEmpty(entry) {
    if (!entry) return true;
    if ("selected_list" in entry) return entry.selected_list.length === 0;
    if ("selected" in entry) return !entry.selected;
    return !String(entry.value || "").trim();
  }

  function showModalErrors(errors) {
    for (const wrap of document.querySelectorAll("#modal-root .input-block")) {
      const text = errors[wrap.dataset.blockId] || "";
      wrap.classList.toggle("has-error", !!text);
      wrap.querySelector(".input-error").textContent = text;
    }
    const general = $("#modal-general-error");
    if (general) {
      const known = new Set([...document.querySelectorAll("#modal-root .input-block")].map((w) => w.dataset.blockId));
      general.textContent = Object.entries(errors).filter(([k]) => !known.has(k)).map(([, v]) => v).join(" ");
    }
  }

  function renderModal(modal) {
    const root = $("#modal-root");
    if (!modal) {
      root.hidden = true;
      root.replaceChildren();
      App.modalKey = "";
      App.localErrors = {};
      return;
    }
    const key = `${modal.view_id}|${modal.view.hash}`;
    if (key === App.modalKey) {
      const submit = $("#modal-submit");
      if (submit) { submit.disabled = false; submit.classList.remove("busy"); }
      showModalErrors({ ...modal.errors, ...App.localErrors });
      return;
    }
    App.modalKey = key;
    App.localErrors = {};
    const view = modal.view;
    const ctx = { surface: "view", view_id: modal.view_id, names: App.state.names };
    const closeAll = () => api("/api/close", { view_id: modal.view_id, all: true });
    const back = () => api("/api/close", { view_id: modal.view_id, all: false });
    const foot = h("div", { class: "modal-foot" },
      modal.depth > 1 ? h("span", { class: "modal-stack" }, `${modal.depth} views deep`) : null,
      h("button", { type: "button", class: "btn", id: "modal-close", onclick: back },
        plainText(view.close) || (view.submit ? "Cancel" : "Close")));
    if (view.submit) {
      const submit = h("button", { type: "submit", class: "btn primary", id: "modal-submit" }, plainText(view.submit));
      foot.append(submit);
    }
    const form = h("form", {
      class: "modal", role: "dialog", "aria-modal": "true", "aria-labelledby": "modal-title",
      dataset: { viewId: modal.view_id, callbackId: view.callback_id || "" },
      onsubmit: (ev) => { ev.preventDefault(); submitModal(modal); },
    },
    h("div", { class: "modal-head" },
      h("div", { class: "avatar" }, "SC"),
      h("div", { class: "modal-title", id: "modal-title" }, plainText(view.title)),
      h("button", { type: "button", class: "modal-x", "aria-label": "Close", onclick: closeAll }, "×")),
    h("div", { class: "modal-body" }, renderBlocks(view.blocks || [], ctx),
      h("div", { class: "input-error", id: "modal-general-error", role: "alert" })),
    foot);
    root.replaceChildren(form);
    root.hidden = false;
    showModalErrors(modal.errors || {});
    const first = form.querySelector(".input-block input, .input-block textarea, .input-block select");
    if (first) first.focus();
  }

  async function submitModal(modal) {
    const values = collectValues();
    const local = {};
    for (const wrap of document.querySelectorAll("#modal-root .input-block")) {
      const { blockId, actionId, optional } = wrap.dataset;
      if (!optional && isEmpty(values[blockId] && values[blockId][actionId])) {
        local[blockId] = "Please complete this required field.";
      }
    }
    App.localErrors = local;
    showModalErrors(local);
    if (Object.keys(local).length) return;
    const submit = $("#modal-submit");
    if (submit) { submit.disabled = true; submit.classList.add("busy"); }
    await api("/api/submit", { view_id: modal.view_id, values });
    const again = $("#modal-submit");
    if (again) { again.disabled = false; again.classList.remove("busy"); }
  }

  // ----------------------------------------------------------------------------- notices
  function renderNotices() {
    const st = App.state;
    const all = (st ? st.notices : []).concat(localNotices)
      .filter((n) => !App.dismissed.has(n.id) && Date.now() / 1000 - n.at < 120)
      .slice(-3);
    $("#notices").replaceChildren(...all.map((n) => h("div", { class: `notice ${n.level}`, role: "status" },
      h("span", { class: "notice-text" }, n.text),
      h("button", {
        type: "button", class: "notice-x", "aria-label": "Dismiss",
        onclick: () => { App.dismissed.add(n.id); renderNotices(); },
      }, "×"))));
  }

  // ---------------------------------------------------------------------------- composer
  async function runCommand(text) {
    const input = $("#composer-input");
    const send = $("#composer-send");
    if (App.surface !== "channel") { App.surface = "channel"; render(); }
    input.value = text;
    send.classList.add("busy");
    stopFollowing();  // the answer to this command is followed once it arrives
    App.history.push(text);
    App.historyAt = -1;
    const res = await api("/api/command", { text, channel: App.channel });
    send.classList.remove("busy");
    // Clear the box once the stand-in took the command (unless something new was typed).
    if (res && res.status !== undefined && input.value === text) input.value = "";
    input.focus();
    scrollToBottom();
  }

  // ------------------------------------------------------------- sidebar (narrow windows)
  function closeSidebar() {
    document.body.classList.remove("sidebar-open");
    $("#sidebar-toggle").setAttribute("aria-expanded", "false");
  }
  function setupSidebar() {
    const toggle = $("#sidebar-toggle");
    toggle.addEventListener("click", (ev) => {
      ev.stopPropagation();
      const open = document.body.classList.toggle("sidebar-open");
      toggle.setAttribute("aria-expanded", String(open));
    });
    $(".main").addEventListener("click", (ev) => { if (ev.target !== toggle) closeSidebar(); });
    const box = $("#messages");
    for (const kind of ["wheel", "touchmove", "mousedown"]) box.addEventListener(kind, stopFollowing, { passive: true });
    box.addEventListener("keydown", stopFollowing);
  }

  function setupComposer() {
    const input = $("#composer-input");
    $("#composer").addEventListener("submit", (ev) => {
      ev.preventDefault();
      const text = input.value.trim();
      if (text) runCommand(text);
    });
    input.addEventListener("keydown", (ev) => {
      if (ev.key === "ArrowUp" && App.history.length && (input.value === "" || App.historyAt >= 0)) {
        App.historyAt = App.historyAt < 0 ? App.history.length - 1 : Math.max(0, App.historyAt - 1);
        input.value = App.history[App.historyAt];
        ev.preventDefault();
      }
    });
    $("#home-link").addEventListener("click", () => {
      closeSidebar();
      App.surface = "home";
      render();
      api("/api/home", {});
    });
    document.addEventListener("keydown", (ev) => {
      if (ev.key !== "Escape") return;
      if (confirmResolve) confirmResolve(false);
      else if (App.state && App.state.modal) api("/api/close", { view_id: App.state.modal.view_id, all: true });
    });
  }

  setupSidebar();
  setupComposer();
  poll();
  // Re-render now and then so relative times ("in 5 minutes") and notice expiry stay fresh.
  setInterval(() => { if (App.state && !document.querySelector("#modal-root:not([hidden])")) renderNotices(); }, 5000);
})();

// museforge studio: the pages, on the studio's own API (no libraries, nothing from the network).
"use strict";

const WORDS = {
  en: {
    create: "Create", gallery: "Gallery", compare: "Compare", prompt: "Prompt", mood: "Mood",
    detected: "detected", modalities: "Modalities", engine: "Engine", seed: "Seed (empty: random)",
    make: "Make it", text: "poem", image: "painting", music: "music", queued: "waiting in the queue",
    running: "working", done: "done", failed: "failed", cancelled: "cancelled", cancel: "Cancel",
    variations: "Variations", keep: "Keep", vary: "Make 4 variations", files: "Files", record: "Record",
    parent: "Varied from", children: "Variations of this work", search: "Search prompts",
    nothing: "Nothing here yet.", which: "Which is better? Click it.", skip: "Skip",
    ranking: "Ranking (Bradley–Terry, 95% interval)", need_two: "Make at least two works to compare.",
    auto: "from the prompt", params: "Settings", pending: "in the making", signin: "Sign in",
    signout: "Sign out", name: "Name", password: "Password", evolve: "Evolve", next: "Next generation",
    pick: "Tick your favourites; the next generation mutates their settings.", favourite: "favourite",
    editor: "Poem editor", form: "Form", keeplines: "Keep lines", rewrite: "Rewrite the other lines",
    valid: "a valid", sculpture: "sculpture", history: "History", undo: "Undo (back to the parent)",
    fork: "Fork: change the settings", builtin: "or built in", forked: "Forked from",
    turn: "Drag to turn, scroll to zoom.", noviewer: "3-D view unavailable here; the preview is shown.",
    originality: "Originality", original: "original", similar: "similar to its training data",
    copy: "a copy of its training data", unchecked: "not checked", nearest: "nearest",
    intact: "Signed and intact: every file is as it was signed", broken: "Changed since it was signed",
    signedby: "signed by",
  },
  zh: {
    create: "创作", gallery: "作品集", compare: "比较", prompt: "主题", mood: "情绪",
    detected: "识别为", modalities: "形式", engine: "引擎", seed: "种子（留空则随机）",
    make: "开始创作", text: "诗", image: "画", music: "音乐", queued: "排队中", running: "创作中",
    done: "完成", failed: "失败", cancelled: "已取消", cancel: "取消", variations: "变体", keep: "保留",
    vary: "生成 4 个变体", files: "文件", record: "记录", parent: "变自", children: "此作品的变体",
    search: "搜索主题", nothing: "还没有作品。", which: "哪一个更好？点击它。", skip: "跳过",
    ranking: "排名（Bradley–Terry，95% 区间）", need_two: "至少创作两件作品才能比较。",
    auto: "依主题", params: "设置", pending: "创作中", signin: "登录", signout: "退出", name: "用户名",
    password: "密码", evolve: "演化", next: "下一代", pick: "勾选你喜欢的作品，下一代将变异它们的设置。",
    favourite: "喜欢", editor: "诗歌编辑", form: "体裁", keeplines: "保留的行", rewrite: "重写其余的行",
    valid: "合格的", sculpture: "雕塑", history: "历史", undo: "撤销（回到上一版）", fork: "分叉：修改设置",
    builtin: "或内置", forked: "分叉自", turn: "拖动旋转，滚轮缩放。", noviewer: "此处无法显示 3-D，显示预览图。",
    originality: "原创性", original: "原创", similar: "与训练数据相似", copy: "与训练数据雷同", unchecked: "未检查",
    nearest: "最接近", intact: "已签名且完好：每个文件都与签名时一致", broken: "签名后已被改动", signedby: "签名者",
    joyful: "欢快", awed: "敬畏", serene: "宁静", nostalgic: "怀旧", melancholy: "忧郁", mysterious: "神秘",
    tense: "紧张", angry: "愤怒",
  },
};
const MOODS = ["joyful", "awed", "serene", "nostalgic", "melancholy", "mysterious", "tense", "angry"];
const MODALITIES = ["text", "image", "music", "sculpture"];
const CREATE_DEFAULT = ["text", "image", "music"];
const PRIMARY = ["melody", "motif"];  // note strings: shown beside the files, not folded away
let lang = localStorage.getItem("lang") || (navigator.language.startsWith("zh") ? "zh" : "en");
const t = (key) => WORDS[lang][key] || key;
const view = document.getElementById("view");

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "on") for (const [ev, fn] of Object.entries(v)) node.addEventListener(ev, fn);
    else if (v !== undefined && v !== null && v !== false) node.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat()) if (c !== null && c !== undefined) node.append(c.nodeType ? c : String(c));
  return node;
}

let session = {multi_user: false, user: "local", csrf: null};

async function api(path, options = {}) {
  const headers = {"Content-Type": "application/json"};
  if (session.csrf) headers["X-CSRF-Token"] = session.csrf;
  const response = await fetch(path, {headers, ...options});
  const body = response.headers.get("content-type")?.includes("json") ? await response.json() : null;
  if (!response.ok) throw new Error((body && (body.error || body.detail)) || response.statusText);
  return body;
}

let enginesCache = null;
async function engines() { return enginesCache || (enginesCache = await api("/api/engines")); }

function paramControls(engine, box, primary) {
  box.replaceChildren();
  for (const p of engine.params) {
    if (p.name === "model" || p.name === "lora" || p.name === "model_config") continue;
    let input;
    if (p.choices) {
      input = el("select", {}, p.choices.map((c) => el("option", {value: c, selected: c === p.default}, c)));
    } else if (p.type === "bool") {
      input = el("input", {type: "checkbox", checked: p.default});
    } else if (p.type === "int" || p.type === "float") {
      input = el("input", {type: "number", value: p.default, min: p.range?.[0], max: p.range?.[1],
                           step: p.type === "int" ? 1 : "any"});
    } else {
      input = el("input", {type: "text", value: p.default});
    }
    input.dataset.param = p.name;
    input.dataset.type = p.type;
    input.dataset.default = String(p.default);
    const row = el("div", {}, el("label", {title: p.help}, p.name.replace(/_/g, " ")), input);
    if (PRIMARY.includes(p.name)) {
      input.placeholder = p.help.match(/e\.g\. '([^']+)'/)?.[1] || "";
      input.classList.add("notes");
      primary.append(row);
    } else box.append(row);
  }
}

function fileControls(engine, box) {
  box.replaceChildren();
  for (const spec of engine.inputs) {
    const input = el("input", {type: "file", accept: spec.kind === "image" ? "image/*" : ".mid,.midi,audio/midi"});
    input.dataset.role = spec.role;
    const note = el("span", {class: "muted"});
    const builtins = spec.builtins?.length ? el("select", {class: "builtin", on: {change: () => {
      if (builtins.value) input.dataset.ref = `builtin:${builtins.value}`;
      else delete input.dataset.ref;
    }}}, el("option", {value: ""}, "—"), spec.builtins.map((b) => el("option", {value: b}, b))) : null;
    input.addEventListener("change", async () => {
      delete input.dataset.ref;
      note.textContent = "";
      if (!input.files.length) return;
      const form = new FormData();
      form.append("file", input.files[0]);
      const headers = session.csrf ? {"X-CSRF-Token": session.csrf} : {};
      const answer = await fetch("/api/uploads", {method: "POST", body: form, headers});
      const body = await answer.json();
      if (answer.ok) { input.dataset.ref = body.id; note.textContent = "✓"; }
      else note.textContent = body.error;
    });
    box.append(el("div", {}, el("label", {title: spec.help}, `${spec.role}${spec.required ? " *" : ""}`), input, note,
                  builtins ? [" ", t("builtin"), " ", builtins] : null));
  }
}

function readParams(...boxes) {
  const out = {};
  for (const input of boxes.flatMap((box) => [...box.querySelectorAll("[data-param]")])) {
    const type = input.dataset.type;
    const value = type === "bool" ? input.checked : type === "int" ? parseInt(input.value, 10)
      : type === "float" ? parseFloat(input.value) : input.value;
    if (String(value) !== input.dataset.default) out[input.dataset.param] = value;
  }
  return out;
}

async function createPage(fromId) {
  const all = await engines();
  const from = fromId ? await api(`/api/works/${fromId}`) : null;  // a fork starts from its settings
  const prompt = el("textarea", {id: "prompt", placeholder: "在一片神秘的森林中， / a stormy sea at night"});
  const moodNote = el("span", {class: "muted", id: "mood-note"});
  const mood = el("select", {id: "mood"}, el("option", {value: ""}, t("auto")),
                  MOODS.map((m) => el("option", {value: m}, t(m))));
  const seed = el("input", {id: "seed", type: "number", min: 0});
  const rows = [];
  for (const modality of MODALITIES) {
    const mine = all.filter((e) => e.modality === modality && e.name !== "upscale")
      .sort((a, b) => a.inputs.some((i) => i.required) - b.inputs.some((i) => i.required));
    if (!mine.length) continue;
    const asked = from ? from.request.modalities : CREATE_DEFAULT;
    const check = el("input", {type: "checkbox", checked: asked.includes(modality), id: `m-${modality}`});
    const pick = el("select", {id: `e-${modality}`}, mine.map((e) => el("option", {value: e.name}, e.name)));
    const box = el("div", {class: "params"});
    const files = el("div", {class: "params"});
    const show = () => {
      const engine = mine.find((e) => e.name === pick.value);
      fileControls(engine, files);
      paramControls(engine, box, files);
    };
    pick.addEventListener("change", show);
    const earlier = from?.request.engines?.[modality];
    if (earlier && mine.some((e) => e.name === earlier)) pick.value = earlier;
    show();
    if (from) {
      const values = {...(from.request.params?.[modality] || {}), ...(from.request.params?.[pick.value] || {})};
      for (const input of [...box.querySelectorAll("[data-param]"), ...files.querySelectorAll("[data-param]")]) {
        if (!(input.dataset.param in values)) continue;
        const v = values[input.dataset.param];
        if (input.type === "checkbox") input.checked = Boolean(v); else input.value = v;
      }
    }
    rows.push({modality, check, pick, box, files});
  }
  let timer;
  prompt.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(async () => {
      if (!prompt.value.trim()) { moodNote.textContent = ""; return; }
      const m = await api(`/api/mood?prompt=${encodeURIComponent(prompt.value)}`).catch(() => null);
      moodNote.textContent = m ? `${t("detected")} ${t(m.label)}` : "";
    }, 300);
  });
  const error = el("p", {class: "error", id: "error"});
  const go = el("button", {id: "make", type: "submit"}, t("make"));
  const form = el("form", {class: "card", on: {submit: async (event) => {
    event.preventDefault();
    error.textContent = "";
    const chosen = rows.filter((r) => r.check.checked);
    const body = {prompt: prompt.value, modalities: chosen.map((r) => r.modality),
                  engines: Object.fromEntries(chosen.map((r) => [r.modality, r.pick.value])),
                  params: Object.fromEntries(chosen.map((r) => [r.modality, readParams(r.box, r.files)])),
                  inputs: Object.fromEntries(chosen.flatMap((r) => [...r.files.querySelectorAll("[data-role]")]
                    .filter((f) => f.dataset.ref).map((f) => [`${r.modality}.${f.dataset.role}`, [f.dataset.ref]])))};
    if (mood.value) body.emotion = mood.value;
    if (seed.value !== "") body.seed = Number(seed.value);
    if (from) body.parent = from.id;
    go.disabled = true;
    try {
      const made = await api("/api/works", {method: "POST", body: JSON.stringify(body)});
      location.hash = `#/work/${made.work_id}`;
    } catch (err) { error.textContent = err.message; go.disabled = false; }
  }}},
    el("label", {for: "prompt"}, t("prompt")), prompt,
    el("div", {class: "row"}, el("div", {}, el("label", {for: "mood"}, t("mood")), mood, " ", moodNote),
       el("div", {}, el("label", {for: "seed"}, t("seed")), seed)),
    el("label", {}, t("modalities")),
    rows.map((r) => el("div", {class: "card", style: "margin:.5rem 0"},
      el("div", {class: "row"}, el("label", {class: "inline"}, r.check, t(r.modality)), el("span", {}, t("engine"), " ", r.pick)),
      r.files, el("details", {}, el("summary", {}, t("params")), r.box))),
    error, go);
  if (from) {
    prompt.value = from.prompt;
    if (from.request.emotion) mood.value = from.request.emotion;
    if (from.request.seed !== undefined) seed.value = from.request.seed;
  }
  view.replaceChildren(el("h1", {}, t("create")),
    from ? el("p", {id: "fork-of"}, t("forked"), " ", el("a", {href: `#/work/${from.id}`}, from.prompt.slice(0, 40))) : null,
    form);
}

function fileUrl(id, name) { return `/api/works/${id}/files/${encodeURIComponent(name)}`; }

async function workPage(id) {
  const work = await api(`/api/works/${id}`);
  const status = el("p", {id: "status"}, t(work.state));
  const bar = el("div", {class: "bar"}, el("div"));
  view.replaceChildren(el("h1", {}, work.prompt), status, bar);
  if (work.state === "pending" && work.job_id) {
    const cancel = el("button", {class: "ghost", on: {click: () => api(`/api/jobs/${work.job_id}/cancel`, {method: "POST"})}},
                      t("cancel"));
    view.append(cancel);
    const source = new EventSource(`/api/jobs/${work.job_id}/events`);
    source.onmessage = (event) => {
      const job = JSON.parse(event.data);
      status.textContent = `${t(job.state)}${job.stage ? " · " + job.stage : ""}${job.error ? " · " + job.error : ""}`;
      bar.firstChild.style.width = `${Math.round(job.progress * 100)}%`;
      if (["done", "failed", "cancelled"].includes(job.state)) { source.close(); if (job.state === "done") workPage(id); }
    };
    return;
  }
  bar.firstChild.style.width = work.state === "done" ? "100%" : "0";
  if (work.state !== "done") return;
  view.dataset.work = id;  // this page shows work id, finished (tests and scripts wait for it)
  const files = work.files;
  const left = el("div", {});
  const right = el("div", {});
  for (const name of files) {
    if (name.endsWith(".png") && !name.startsWith("piano") && name !== "preview.png") left.append(el("img", {src: fileUrl(id, name), alt: name}));
  }
  if (files.includes("sculpture.glb")) left.append(sculptureView(id, files));
  let editor = null;
  if (files.includes("poem.txt")) {
    const poem = el("pre", {class: "poem", id: "poem"});
    const text = await (await fetch(fileUrl(id, "poem.txt"))).text();
    poem.textContent = text;
    right.append(poem);
    const art = work.record.artifacts.find((a) => a.modality === "text");
    editor = poemEditor(work, text, (art && art.summary && art.summary.form) || "qijue");
  }
  if (files.includes("music.wav")) right.append(el("audio", {controls: true, src: fileUrl(id, "music.wav"), id: "audio"}));
  for (const name of files) if (name.startsWith("piano")) right.append(el("img", {src: fileUrl(id, name), alt: name}));
  const keep = MODALITIES.filter((m) => work.request.modalities.includes(m) && m !== "sculpture")
    .map((m) => el("label", {class: "inline"}, el("input", {type: "checkbox", value: m, class: "keep"}), t(m)));
  const vary = el("button", {id: "vary", on: {click: async () => {
    const kept = [...view.querySelectorAll(".keep:checked")].map((c) => c.value);
    const made = await api(`/api/works/${id}/variations`, {method: "POST", body: JSON.stringify({count: 4, keep: kept})});
    location.hash = `#/work/${made[0].work_id}`;
  }}}, t("vary"));
  const evolveButton = el("button", {class: "ghost", id: "evolve", on: {click: async () => {
    const made = await api("/api/evolve", {method: "POST", body: JSON.stringify({parents: [id]})});
    location.hash = `#/evolve/${made.map((m) => m.work_id).join(",")}`;
  }}}, t("evolve"));
  view.append(...[
    el("div", {class: "work"}, left, right),
    el("div", {class: "card", style: "margin-top:1rem"}, el("strong", {}, t("variations")), " ", t("keep"), ": ", keep, " ", vary, " ", evolveButton),
    originalityCard(work.record.originality),
    await historyCard(work),
    editor,
    el("details", {}, el("summary", {}, t("files")), el("ul", {}, files.map((n) => el("li", {}, el("a", {href: fileUrl(id, n), download: n}, n))))),
    el("details", {}, el("summary", {}, t("record")), await verifyLine(id),
       el("pre", {}, JSON.stringify(work.record, null, 1))),
  ].filter(Boolean));
}

function sculptureView(id, files) {
  // The preview stays until the 3-D view has drawn the model (or in its place, without WebGL).
  const preview = files.includes("preview.png") ? el("img", {src: fileUrl(id, "preview.png"), alt: "sculpture", id: "sculpture-preview"}) : null;
  const canvas = el("canvas", {id: "sculpture", class: "viewer", hidden: true});
  const note = el("p", {class: "muted"});
  const figure = el("figure", {class: "sculpture"}, preview, canvas, note);
  const start = () => window.MuseforgeViewer.show(canvas, fileUrl(id, "sculpture.glb")).then((drawn) => {
    canvas.hidden = false;
    canvas.dataset.triangles = String(drawn.triangles);
    if (preview) preview.remove();
    note.textContent = t("turn");
  }).catch(() => { canvas.remove(); note.textContent = t("noviewer"); });
  if (window.MuseforgeViewer) start();
  else document.head.append(el("script", {src: "/static/viewer.js", on: {load: start, error: () => { note.textContent = t("noviewer"); }}}));
  return figure;
}

async function verifyLine(id) {
  const v = await api(`/api/works/${id}/verify`).catch(() => null);
  if (!v) return null;
  const who = v.signer ? ` · ${t("signedby")} ${v.signer.name || v.signer.key} (${v.signer.trust})` : "";
  const bad = v.files.filter((f) => f.status !== "ok").map((f) => `${f.name}: ${f.status}`);
  return el("p", {id: "verified", class: v.intact ? "" : "error"}, v.intact ? `✓ ${t("intact")}${who}`
    : `✗ ${t("broken")}: ${[...bad, ...v.problems].join("; ")}`);
}

function originalityCard(entries) {
  // Each artifact's verdict against the index of its engine's training data.
  const rows = Object.entries(entries || {}).map(([modality, v]) => el("li", {class: v.verdict || "unchecked"},
    el("strong", {}, t(modality)), ": ",
    v.checked ? [t(v.verdict), ` (${v.score.toFixed(2)})`, v.overridden ? " ⚑" : "",
                 v.nearest?.length ? ` · ${t("nearest")}: ${v.nearest[0].item}` : ""]
      : el("span", {class: "muted", title: v.reason}, t("unchecked"))));
  return rows.length ? el("div", {class: "card", id: "originality", style: "margin-top:1rem"},
    el("strong", {}, t("originality")), el("ul", {}, rows)) : null;
}

async function historyCard(work) {
  const tree = await api(`/api/works/${work.id}/history`);
  const kids = {};
  for (const n of tree.works) (kids[n.parent] ||= []).push(n);
  const node = (n) => el("li", {},
    el("a", {href: `#/work/${n.id}`, class: n.id === work.id ? "here" : null, title: n.prompt},
       n.picture && n.state === "done" ? el("img", {src: fileUrl(n.id, n.picture), alt: "", loading: "lazy"}) : null,
       `${n.prompt.slice(0, 18)} · ${n.id.slice(0, 6)}`),
    kids[n.id] ? el("ul", {}, kids[n.id].map(node)) : null);
  const root = tree.works.find((n) => n.id === tree.root);
  const undo = work.parent ? el("a", {href: `#/work/${work.parent}`, id: "undo", class: "button ghost"}, t("undo")) : null;
  const fork = el("a", {href: `#/create/${work.id}`, id: "fork", class: "button ghost"}, t("fork"));
  return el("div", {class: "card history", id: "history", style: "margin-top:1rem"},
    el("div", {class: "row"}, el("strong", {}, t("history")), undo, fork),
    tree.works.length > 1 ? el("ul", {class: "tree"}, node(root)) : null);
}

const POEM_FORMS = ["qijue", "wujue", "qilv", "wulv", "sonnet", "haiku"];

function poemEditor(work, text, form) {
  const lines = text.split("\n");
  const body = lines.length > 2 && lines[1].trim() === "" ? lines.slice(2) : lines;  // drop the title
  const area = el("textarea", {id: "poem-edit", rows: Math.max(4, body.length + 1)});
  area.value = body.join("\n").trim();
  const pick = el("select", {id: "poem-form"}, POEM_FORMS.map((f) => el("option", {value: f, selected: f === form}, f)));
  const keep = el("input", {id: "keep", placeholder: "1,3", size: 8});
  const verdict = el("div", {id: "form-check", class: "muted"});
  const error = el("p", {class: "error"});
  let timer;
  const check = () => {
    clearTimeout(timer);
    timer = setTimeout(async () => {
      try {
        const r = await api("/api/poems/check", {method: "POST", body: JSON.stringify({text: area.value, form: pick.value})});
        verdict.replaceChildren(r.valid ? `✓ ${t("valid")} ${r.form}` : el("ul", {}, r.violations.map((v) => el("li", {}, v.message))));
      } catch (err) { verdict.textContent = err.message; }
    }, 250);
  };
  area.addEventListener("input", check);
  pick.addEventListener("change", check);
  check();
  const rewrite = el("button", {id: "rewrite", on: {click: async () => {
    error.textContent = "";
    try {
      const form = new FormData();
      form.append("file", new Blob([area.value], {type: "text/plain"}), "draft.txt");
      const headers = session.csrf ? {"X-CSRF-Token": session.csrf} : {};
      const up = await fetch("/api/uploads", {method: "POST", body: form, headers});
      const draft = await up.json();
      if (!up.ok) throw new Error(draft.error);
      const made = await api("/api/works", {method: "POST", body: JSON.stringify({
        prompt: work.prompt, modalities: ["text"], engines: {text: "learned-poet"}, parent: work.id,
        params: {text: {form: pick.value, keep: keep.value}}, inputs: {"text.draft": [draft.id]}})});
      location.hash = `#/work/${made.work_id}`;
    } catch (err) { error.textContent = err.message; }
  }}}, t("rewrite"));
  return el("div", {class: "card", style: "margin-top:1rem"}, el("strong", {}, t("editor")),
    el("div", {class: "row"}, el("span", {}, t("form"), " ", pick), el("span", {}, t("keeplines"), " ", keep), rewrite),
    area, verdict, error);
}

function thumb(work, linked = true) {
  const png = work.record?.artifacts?.flatMap((a) => a.files || []).map((f) => f.name || f).find((n) => n.endsWith(".png") && !n.startsWith("piano"));
  return el(linked ? "a" : "div", {href: linked ? `#/work/${work.id}` : null, class: "item"},
    el("div", {class: "thumb"}, png ? el("img", {src: fileUrl(work.id, png), alt: "", loading: "lazy"}) : t(work.state)),
    el("div", {}, work.prompt.slice(0, 60)), el("div", {class: "muted"}, work.mood ? t(work.mood) : ""));
}

async function galleryPage() {
  const q = el("input", {id: "q", type: "search", placeholder: t("search")});
  const mood = el("select", {id: "mood-filter"}, el("option", {value: ""}, "—"), MOODS.map((m) => el("option", {value: m}, t(m))));
  const grid = el("div", {class: "grid", id: "gallery"});
  const load = async () => {
    const found = await api(`/api/works?q=${encodeURIComponent(q.value)}&mood=${mood.value}&limit=60`);
    grid.replaceChildren(...(found.works.length ? found.works.map(thumb) : [el("p", {}, t("nothing"))]));
  };
  q.addEventListener("input", load);
  mood.addEventListener("change", load);
  view.replaceChildren(el("h1", {}, t("gallery")), el("div", {class: "row"}, q, mood), el("p"), grid);
  await load();
}

async function evolvePage(ids) {
  const grid = el("div", {class: "grid", id: "generation"});
  const next = el("button", {id: "next", disabled: true}, t("next"));
  view.replaceChildren(el("h1", {}, t("evolve")), el("p", {}, t("pick")), grid, el("p"), next);
  const tiles = ids.map((id) => {
    const box = el("input", {type: "checkbox", value: id, class: "favourite", on: {change: () => {
      next.disabled = !view.querySelector(".favourite:checked");
    }}});
    const tile = el("div", {class: "card"}, el("div", {class: "thumb"}, t("pending")), el("label", {class: "inline"}, box, t("favourite")));
    grid.append(tile);
    return {id, tile};
  });
  next.addEventListener("click", async () => {
    const parents = [...view.querySelectorAll(".favourite:checked")].map((c) => c.value);
    const made = await api("/api/evolve", {method: "POST", body: JSON.stringify({parents})});
    location.hash = `#/evolve/${made.map((m) => m.work_id).join(",")}`;
  });
  const waiting = new Set(ids);
  while (waiting.size && location.hash.startsWith("#/evolve/")) {
    for (const {id, tile} of tiles) {
      if (!waiting.has(id)) continue;
      const work = await api(`/api/works/${id}`);
      if (work.state !== "pending") {
        waiting.delete(id);
        tile.firstChild.replaceWith(thumb(work));
      }
    }
    if (waiting.size) await new Promise((resolve) => setTimeout(resolve, 700));
  }
}

async function comparePage() {
  const done = (await api("/api/works?state=done&limit=200")).works;
  view.replaceChildren(el("h1", {}, t("compare")));
  if (done.length < 2) { view.append(el("p", {}, t("need_two"))); return; }
  const i = Math.floor(Math.random() * done.length);
  let j = Math.floor(Math.random() * (done.length - 1));
  if (j >= i) j += 1;
  const [a, b] = [done[i], done[j]];
  const pick = (winner) => async () => {
    await api("/api/ratings", {method: "POST", body: JSON.stringify({a: a.id, b: b.id, winner: winner.id})});
    comparePage();
  };
  const side = (w, name) => el("div", {class: "card", id: name, on: {click: pick(w)}}, thumb(w, false));
  view.append(el("p", {}, t("which")), el("div", {class: "pair"}, side(a, "left"), side(b, "right")),
              el("p"), el("button", {class: "ghost", on: {click: comparePage}}, t("skip")));
  const ranks = await api("/api/rankings");
  if (ranks.length) view.append(el("h2", {}, t("ranking")), rankPlot(ranks, done));
}

function rankPlot(ranks, works) {
  const names = Object.fromEntries(works.map((w) => [w.id, w.prompt.slice(0, 24)]));
  const lo = Math.min(...ranks.map((r) => r.low)), hi = Math.max(...ranks.map((r) => r.high));
  const x = (v) => 200 + ((v - lo) / (hi - lo || 1)) * 380;
  const ns = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(ns, "svg");
  svg.setAttribute("viewBox", `0 0 600 ${ranks.length * 24 + 10}`);
  svg.setAttribute("id", "ranking");
  ranks.forEach((r, k) => {
    const y = 16 + k * 24;
    const add = (tag, attrs, text) => { const n = document.createElementNS(ns, tag); for (const [a, v] of Object.entries(attrs)) n.setAttribute(a, v); if (text) n.textContent = text; svg.append(n); };
    add("text", {x: 0, y: y + 4, "font-size": 12}, names[r.work_id] || r.work_id.slice(0, 6));
    add("line", {x1: x(r.low), x2: x(r.high), y1: y, y2: y, stroke: "#8a3b12", "stroke-width": 2});
    add("circle", {cx: x(r.score), cy: y, r: 4, fill: "#8a3b12"});
  });
  return svg;
}

function loginPage() {
  const name = el("input", {id: "user", autocomplete: "username"});
  const password = el("input", {id: "password", type: "password", autocomplete: "current-password"});
  const error = el("p", {class: "error"});
  view.replaceChildren(el("h1", {}, t("signin")), el("form", {class: "card", on: {submit: async (event) => {
    event.preventDefault();
    try {
      session = {multi_user: true, ...(await api("/api/login", {method: "POST",
        body: JSON.stringify({name: name.value, password: password.value})}))};
      showUser();
      route();
    } catch (err) { error.textContent = err.message; }
  }}}, el("label", {for: "user"}, t("name")), name, el("label", {for: "password"}, t("password")), password,
     error, el("button", {type: "submit", id: "signin"}, t("signin"))));
}

function showUser() {
  const box = document.getElementById("who");
  box.replaceChildren();
  if (session.multi_user && session.user) {
    box.append(session.user, " ", el("button", {class: "ghost", id: "signout", on: {click: async () => {
      await api("/api/logout", {method: "POST"});
      session = {multi_user: true, user: null, csrf: null};
      showUser();
      route();
    }}}, t("signout")));
  }
}

async function route() {
  const [, page, id] = location.hash.split("/");
  delete view.dataset.work;
  if (session.multi_user && !session.user) { loginPage(); return; }
  for (const a of document.querySelectorAll("nav a")) a.classList.toggle("on", a.getAttribute("href") === `#/${page}`);
  try {
    if (page === "work" && id) await workPage(id);
    else if (page === "gallery") await galleryPage();
    else if (page === "compare") await comparePage();
    else if (page === "evolve" && id) await evolvePage(id.split(",").slice(0, 9));
    else await createPage(page === "create" ? id : undefined);
  } catch (err) { view.replaceChildren(el("p", {class: "error"}, err.message)); }
}

function applyLanguage() {
  document.documentElement.lang = lang === "zh" ? "zh-CN" : "en";
  document.getElementById("lang").textContent = lang === "zh" ? "English" : "中文";
  for (const node of document.querySelectorAll("[data-t]")) node.textContent = t(node.dataset.t);
}

document.getElementById("lang").addEventListener("click", () => {
  lang = lang === "zh" ? "en" : "zh";
  localStorage.setItem("lang", lang);
  applyLanguage();
  route();
});
window.addEventListener("hashchange", route);
applyLanguage();
api("/api/session").then((s) => { session = s; showUser(); route(); });

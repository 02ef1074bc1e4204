// pstation console: the counter's screens over the station's own API (same origin, session
// cookie). No framework, no CDN: this file, console.css and index.html are embedded in the
// binary. Personal data (names, dates) never goes into a URL: the queue is searched here, in the
// page, by job id or passport number only.
"use strict";

const T = {
  id: {
    "nav.queue": "Antrian", "nav.booklets": "Buku paspor", "nav.technician": "Teknisi",
    "logout": "Keluar", "login.title": "Masuk", "login.token": "Token (pindai kartu atau ketik)",
    "login.submit": "Masuk", "login.bad": "Token tidak dikenal", "login.expired": "Sesi berakhir: masuk lagi",
    "printer.title": "Printer", "cancel": "Batal", "ok": "OK",
    "queue.title": "Antrian pekerjaan", "queue.state": "Status", "queue.all": "Semua",
    "queue.search": "Cari (nomor pekerjaan atau nomor paspor)", "queue.none": "Tidak ada pekerjaan",
    "col.job": "Pekerjaan", "col.state": "Status", "col.booklet": "Nomor paspor",
    "col.received": "Diterima", "col.reason": "Alasan", "col.at": "Waktu", "col.action": "Tindakan",
    "col.actor": "Oleh", "col.number": "Nomor",
    "job.title": "Pekerjaan", "job.preview": "Pratinjau halaman data", "job.mrz": "MRZ",
    "job.history": "Riwayat", "job.back": "Kembali ke antrian", "job.purged": "Data pribadi sudah dihapus (masa simpan berakhir)",
    "job.confirmed": "Nomor buku dikonfirmasi",
    "act.confirm": "Konfirmasi nomor buku", "act.confirm.label": "Nomor buku yang dimuat (ketik atau pindai, lalu Enter)",
    "act.hold": "Tahan", "act.release": "Lepas", "act.cancel": "Batalkan", "act.verify": "Tercetak baik",
    "act.spoil": "Rusak", "act.reprint": "Cetak ulang", "act.reason": "Alasan",
    "act.newbooklet": "Nomor buku baru", "act.supervisor": "Token supervisor (orang kedua)",
    "act.done": "Selesai", "act.notallowed": "Peran Anda tidak boleh melakukan ini",
    "state.received": "diterima", "state.queued": "antri", "state.held": "ditahan", "state.printing": "mencetak",
    "state.printed": "tercetak", "state.completed": "selesai", "state.canceled": "dibatalkan",
    "state.failed": "gagal", "state.needs-verification": "perlu diperiksa", "state.spoiled": "rusak",
    "state.reading": "menunggu pembaca", "state.reprint-requested": "cetak ulang diminta ke pusat",
    "act.request-reprint": "Minta cetak ulang ke kantor pusat",
    "chip.title": "Pembaca cip", "chip.none": "tidak ada (cip tidak diperiksa)", "chip.ready": "siap",
    "chip.waiting": "menunggu buku", "chip.down": "tidak tersedia", "chip.last": "Pemeriksaan terakhir",
    "chip.check": "Pemeriksaan cip e-paspor", "chip.ok": "asli dan milik permohonan ini", "chip.failed": "GAGAL",
    "chip.ds": "Penandatangan dokumen", "chip.csca": "CSCA",
    "chip.step.answer": "cip menjawab", "chip.step.access": "terbuka dengan kunci permohonan (BAC)",
    "chip.step.read": "berkas terbaca", "chip.step.dg1": "DG1 sama dengan MRZ yang dicetak",
    "chip.step.hashes": "hash data sesuai SOD", "chip.step.signature": "tanda tangan SOD sah",
    "chip.step.chain": "rantai ke CSCA tepercaya",
    "reader.title": "Pembaca MRZ", "reader.none": "tidak ada (periksa manual)", "reader.connecting": "menghubungkan",
    "reader.connected": "terhubung", "reader.down": "terputus", "reader.last": "Bacaan terakhir",
    "read.title": "Hasil baca MRZ", "read.expected": "Tercetak", "read.read": "Terbaca", "read.differs": "posisi berbeda",
    "read.match": "cocok", "read.mismatch": "tidak cocok", "read.unreadable": "tidak terbaca", "read.other-booklet": "buku lain",
    "read.unexpected": "tidak diharapkan", "read.garbled": "rusak",
    "read.wedge": "Pembaca keyboard: letakkan buku pada pembaca (atau ketik kedua baris MRZ), lalu Enter",
    "read.send": "Kirim bacaan", "act.verifyhand": "Periksa manual (pembaca rusak): alasan dan supervisor",
    "pstate.idle": "Siap", "pstate.processing": "Mencetak", "pstate.stopped": "Berhenti",
    "pstate.warming-up-report": "Pemanasan", "pstate.self-test-report": "Uji mandiri",
    "pstate.resetting-report": "Diatur ulang", "pstate.canceling-job-report": "Membatalkan",
    "printer.lost": "Printer tidak terhubung", "printer.printing": "Mencetak",
    "booklets.title": "Buku paspor", "booklets.instock": "Stok", "booklets.issued": "Diterbitkan",
    "booklets.spoiled": "Rusak", "booklets.loaded": "Dimuat", "booklets.received": "Diterima",
    "booklets.balanced": "Seimbang", "booklets.unbalanced": "Tidak seimbang", "booklets.receive": "Terima batch",
    "booklets.first": "Nomor pertama", "booklets.last": "Nomor terakhir", "booklets.register": "Daftar buku rusak",
    "booklets.batches": "Batch diterima", "booklets.count": "Jumlah",
    "tech.title": "Teknisi", "tech.identity": "Identitas perangkat", "tech.history": "Riwayat status",
    "tech.none": "Belum terhubung", "tech.model": "Model", "tech.pagecount": "Penghitung halaman", "tech.refresh": "Baca ulang",
    "tech.calibration": "Kalibrasi", "tech.offset": "Offset", "tech.offset.how": "(ubah render.offset_x_mm / offset_y_mm di konfigurasi, lalu mulai ulang)",
    "tech.testpage": "Cetak halaman uji", "tech.printed": "Tercetak", "tech.console": "Konsol {lang} (baca saja)", "tech.noconsole": "Printer keluarga ini tidak punya konsol perintah", "tech.family": "Keluarga",
    "tech.command": "Perintah (INFO, INQUIRE, DINQUIRE)", "tech.send": "Kirim", "tech.answer": "Jawaban printer",
    "error": "Kesalahan",
  },
  en: {
    "nav.queue": "Queue", "nav.booklets": "Booklets", "nav.technician": "Technician",
    "logout": "Log out", "login.title": "Log in", "login.token": "Token (scan your badge or type it)",
    "login.submit": "Log in", "login.bad": "Unknown token", "login.expired": "Session ended: log in again",
    "printer.title": "Printer", "cancel": "Cancel", "ok": "OK",
    "queue.title": "Job queue", "queue.state": "State", "queue.all": "All",
    "queue.search": "Search (job id or passport number)", "queue.none": "No jobs",
    "col.job": "Job", "col.state": "State", "col.booklet": "Passport number",
    "col.received": "Received", "col.reason": "Reason", "col.at": "Time", "col.action": "Action",
    "col.actor": "By", "col.number": "Number",
    "job.title": "Job", "job.preview": "Data page preview", "job.mrz": "MRZ",
    "job.history": "History", "job.back": "Back to the queue", "job.purged": "Personal data purged (retention over)",
    "job.confirmed": "Booklet number confirmed",
    "act.confirm": "Confirm booklet number", "act.confirm.label": "Loaded booklet's number (type or scan, then Enter)",
    "act.hold": "Hold", "act.release": "Release", "act.cancel": "Cancel job", "act.verify": "Printed correctly",
    "act.spoil": "Spoil", "act.reprint": "Reprint", "act.reason": "Reason",
    "act.newbooklet": "New booklet number", "act.supervisor": "Supervisor's token (the second person)",
    "act.done": "Done", "act.notallowed": "Your role may not do this",
    "state.received": "received", "state.queued": "queued", "state.held": "held", "state.printing": "printing",
    "state.printed": "printed", "state.completed": "completed", "state.canceled": "canceled",
    "state.failed": "failed", "state.needs-verification": "needs verification", "state.spoiled": "spoiled",
    "state.reading": "waiting for the reader", "state.reprint-requested": "reprint requested from the central office",
    "act.request-reprint": "Request a reprint from the central office",
    "chip.title": "Chip reader", "chip.none": "none (chips not checked)", "chip.ready": "ready",
    "chip.waiting": "waiting for the booklet", "chip.down": "unavailable", "chip.last": "Last check",
    "chip.check": "E-passport chip check", "chip.ok": "genuine and this job's", "chip.failed": "FAILED",
    "chip.ds": "Document Signer", "chip.csca": "CSCA",
    "chip.step.answer": "the chip answers", "chip.step.access": "opens with the job's key (BAC)",
    "chip.step.read": "files read", "chip.step.dg1": "DG1 equals the MRZ to print",
    "chip.step.hashes": "data group hashes match the SOD", "chip.step.signature": "the SOD's signature holds",
    "chip.step.chain": "chains to a trusted CSCA",
    "reader.title": "MRZ reader", "reader.none": "none (manual verify)", "reader.connecting": "connecting",
    "reader.connected": "connected", "reader.down": "disconnected", "reader.last": "Last read",
    "read.title": "MRZ read back", "read.expected": "Printed", "read.read": "Read", "read.differs": "positions differ",
    "read.match": "match", "read.mismatch": "mismatch", "read.unreadable": "unreadable", "read.other-booklet": "another booklet",
    "read.unexpected": "not expected", "read.garbled": "garbled",
    "read.wedge": "Keyboard reader: lay the booklet on the reader (or type both MRZ lines), then Enter",
    "read.send": "Send the read", "act.verifyhand": "Verify by hand (reader faulty): reason and supervisor",
    "pstate.idle": "Ready", "pstate.processing": "Printing", "pstate.stopped": "Stopped",
    "pstate.warming-up-report": "Warming up", "pstate.self-test-report": "Self test",
    "pstate.resetting-report": "Resetting", "pstate.canceling-job-report": "Cancelling",
    "printer.lost": "Printer not connected", "printer.printing": "Printing",
    "booklets.title": "Booklets", "booklets.instock": "In stock", "booklets.issued": "Issued",
    "booklets.spoiled": "Spoiled", "booklets.loaded": "Loaded", "booklets.received": "Received",
    "booklets.balanced": "Balanced", "booklets.unbalanced": "Not balanced", "booklets.receive": "Receive a batch",
    "booklets.first": "First number", "booklets.last": "Last number", "booklets.register": "Spoiled register",
    "booklets.batches": "Batches received", "booklets.count": "Count",
    "tech.title": "Technician", "tech.identity": "Device identity", "tech.history": "Status history",
    "tech.none": "Not connected yet", "tech.model": "Model", "tech.pagecount": "Page counter", "tech.refresh": "Read again",
    "tech.calibration": "Calibration", "tech.offset": "Offset", "tech.offset.how": "(change render.offset_x_mm / offset_y_mm in the configuration, then restart)",
    "tech.testpage": "Print a test page", "tech.printed": "Printed", "tech.console": "{lang} console (read-only)", "tech.noconsole": "Printers of this family have no command console", "tech.family": "Family",
    "tech.command": "Command (INFO, INQUIRE, DINQUIRE)", "tech.send": "Send", "tech.answer": "The printer's answer",
    "error": "Error",
  },
};

const STATES = ["queued", "held", "printing", "printed", "reading", "needs-verification", "spoiled",
  "failed", "completed", "canceled", "received"];
const COUNTER = ["operator", "supervisor", "admin"];
const WATCHERS = ["operator", "supervisor", "technician", "admin"];

let lang = localStorage.getItem("pstation-lang") === "en" ? "en" : "id";
let me = null;          // {name, role}
let clock = { offset: 0, zone: "UTC" };  // the station's UTC offset (minutes) and zone name
let events = null;      // EventSource
let printer = null;     // the last printer view
let reader = null;      // the last document reader view
let chip = null;        // the last chip reader view
const progress = {};    // job id -> "n/m"
const preview = { key: null, url: null, mrz: null, loading: Promise.resolve() };  // the job shown
const readsShown = { key: null, list: null };  // the job's reads, fetched once per new read

const $ = (sel) => document.querySelector(sel);
const t = (key) => T[lang][key] || key;

// The API speaks UTC (RFC 3339); a person reads station-local time with its zone
// ("2026-12-05 15:07:50 WITA"), whatever the browser's own time zone is.
function when(iso) {
  if (!iso) return "";
  const ms = Date.parse(iso);
  if (Number.isNaN(ms)) return String(iso);
  const local = new Date(ms + clock.offset * 60000).toISOString();
  return `${local.slice(0, 10)} ${local.slice(11, 19)} ${clock.zone}`;
}

function setClock(s) {
  const m = /^([+-])(\d\d):(\d\d)$/.exec(s.utc_offset || "");
  clock = m ? { offset: (m[1] === "-" ? -1 : 1) * (Number(m[2]) * 60 + Number(m[3])), zone: s.zone || "UTC" }
    : { offset: 0, zone: "UTC" };
}

function el(tag, attrs, ...kids) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === "on") { for (const [ev, f] of Object.entries(v)) e.addEventListener(ev, f); }
    else if (v !== null && v !== undefined && v !== false) e.setAttribute(k, v === true ? "" : v);
  }
  for (const k of kids.flat()) {
    if (k !== null && k !== undefined) e.append(k instanceof Node ? k : document.createTextNode(String(k)));
  }
  return e;
}

function translateStatic() {
  document.documentElement.lang = lang;
  $("#lang").textContent = lang === "id" ? "EN" : "ID";
  document.querySelectorAll("[data-t]").forEach((n) => { n.textContent = t(n.dataset.t); });
}

// Every call goes to the same origin with the session cookie; changes carry the console's
// header (a cross-site page cannot send it).
async function api(method, path, body, extraHeaders) {
  const headers = Object.assign({ "x-pstation-console": "1" }, extraHeaders || {});
  const init = { method, headers, credentials: "same-origin" };
  if (body !== undefined) { headers["content-type"] = "application/json"; init.body = JSON.stringify(body); }
  const r = await fetch(path, init);
  if (r.status === 401 && path !== "/api/session") { loggedOut(true); throw new Error(t("login.expired")); }
  const type = r.headers.get("content-type") || "";
  const data = type.includes("json") ? await r.json() : await r.blob();
  if (!r.ok) {
    const err = new Error((data && data.error && data.error.message) || r.statusText);
    err.status = r.status; err.code = data && data.error && data.error.code;
    throw err;
  }
  return data;
}

// An API refusal in words: its stable code first (most messages already start with it).
function errText(e) {
  return e.code && !String(e.message).startsWith(e.code) ? `${e.code}: ${e.message}` : e.message;
}

function stateBadge(s) {
  return el("span", { class: "badge " + s, "data-state": s }, t("state." + s));
}

// ---- login, logout ----------------------------------------------------------------------
async function start() {
  translateStatic();
  $("#lang").addEventListener("click", () => {
    lang = lang === "id" ? "en" : "id";
    localStorage.setItem("pstation-lang", lang);
    translateStatic(); renderPrinter(); route();
  });
  $("#logout").addEventListener("click", async () => {
    try { await api("DELETE", "/api/session"); } catch (_) { /* already gone */ }
    loggedOut(false);
  });
  $("#login-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    $("#login-error").textContent = "";
    const token = $("#login-token").value.trim();
    $("#login-token").value = "";  // a token never stays on the screen
    try {
      const s = await api("POST", "/api/session", { token });
      setClock(s);
      loggedIn(s.user);
    } catch (e) {
      $("#login-error").textContent = e.status === 401 ? t("login.bad") : e.message;
    }
  });
  window.addEventListener("hashchange", route);
  try {
    const s = await api("GET", "/api/session");
    setClock(s);
    if (s.user) loggedIn(s.user); else loggedOut(false);
  } catch (_) {
    loggedOut(false);
  }
}

function loggedIn(user) {
  me = user;
  $("#login").hidden = true;
  $("#nav").hidden = false;
  $("#logout").hidden = false;
  $("#who").textContent = `${user.name} (${user.role})`;
  if (WATCHERS.includes(user.role)) { $("#printer").hidden = false; watch(); }
  if (!location.hash || location.hash === "#/") location.hash = "#/queue"; else route();
}

function loggedOut(expired) {
  me = null;
  if (events) { events.close(); events = null; }
  $("#nav").hidden = true; $("#logout").hidden = true; $("#printer").hidden = true;
  $("#who").textContent = "";
  $("#view").replaceChildren();
  $("#login").hidden = false;
  $("#login-error").textContent = expired ? t("login.expired") : "";
  $("#login-token").focus();
}

// ---- live printer panel (server-sent events) --------------------------------------------
function watch() {
  if (events) events.close();
  events = new EventSource("/api/events");
  events.addEventListener("printer", (m) => { printer = JSON.parse(m.data); renderPrinter(); });
  events.addEventListener("reader", (m) => { reader = JSON.parse(m.data); renderReader(); });
  events.addEventListener("chip", (m) => { chip = JSON.parse(m.data); renderChip(); });
  api("GET", "/api/printer").then((p) => {
    if (!reader) { reader = p.reader; renderReader(); }
    if (!chip) { chip = p.chip; renderChip(); }
  }).catch(() => {});
  events.addEventListener("progress", (m) => {
    const p = JSON.parse(m.data); progress[p.job_id] = `${p.sheets}/${p.of}`; renderPrinter();
  });
  events.addEventListener("job", (m) => {
    const j = JSON.parse(m.data);
    document.querySelectorAll(`[data-job="${CSS.escape(j.job_id)}"] .badge`).forEach((b) => {
      b.replaceWith(stateBadge(j.state));
    });
    const h = location.hash;
    if (h === "#/job/" + encodeURIComponent(j.job_id)) showJob(j.job_id);
  });
  events.onerror = () => { /* EventSource reconnects by itself */ };
}

function renderPrinter() {
  if (!printer) return;
  const badge = $("#printer-state");
  badge.className = "badge " + printer.state;
  badge.dataset.state = printer.state;
  // A passing state (warming up, self test, ...) is named as such: the printer goes on by itself.
  const settling = (printer.reasons || []).find((r) => T.en["pstate." + r]);
  badge.textContent = printer.link === "lost" ? t("printer.lost")
    : settling && printer.state !== "stopped" ? t("pstate." + settling) : t("pstate." + printer.state);
  $("#printer-job").textContent = printer.job_id
    ? `${t("printer.printing")}: ${printer.job_id}${progress[printer.job_id] ? " (" + progress[printer.job_id] + ")" : ""}`
    : "";
  $("#printer-advice").replaceChildren(...(printer.advice || []).map((a) =>
    el("li", { "data-reason": a.reason, lang: lang }, lang === "id" ? `${a.id} / ${a.en}` : `${a.en} / ${a.id}`)));
  $("#printer-reasons").textContent = (printer.reasons || []).join(", ") + (printer.display ? ` — ${printer.display}` : "");
}

function renderReader() {
  if (!reader) return;
  const state = reader.configured ? reader.state : "none";
  const badge = $("#reader-state");
  badge.className = "badge " + (state === "connected" ? "idle" : state === "down" ? "stopped" : "processing");
  badge.dataset.state = state;
  badge.textContent = t("reader." + state);
  $("#reader-detail").textContent = [
    reader.message || "",
    reader.last ? `${t("reader.last")}: ${t("read." + reader.last.result)}${reader.last.job_id ? " (" + reader.last.job_id + ")" : ""}` : "",
  ].filter(Boolean).join(" — ");
}

function renderChip() {
  if (!chip) return;
  const state = chip.configured ? chip.state : "none";
  const badge = $("#chip-state");
  badge.className = "badge " + (state === "ready" ? "idle" : state === "down" ? "stopped" : "processing");
  badge.dataset.state = state;
  badge.textContent = t("chip." + state);
  $("#chip-detail").textContent = [
    chip.message || "",
    chip.last ? `${t("chip.last")}: ${chip.last.result === "ok" ? t("chip.ok") : chip.last.result} (${chip.last.job_id})` : "",
  ].filter(Boolean).join(" — ");
}

// The newest chip check of a job: each step, ok or failed with its code, and the signers.
function chipCheck(list) {
  const c = list.checks[0];
  if (!c) return null;
  return el("section", { id: "chipcheck", "aria-label": t("chip.check") },
    el("h2", {}, t("chip.check")),
    el("p", {}, el("span", { class: "badge " + (c.result === "ok" ? "idle" : "stopped"), id: "chip-result", "data-result": c.result },
      c.result === "ok" ? t("chip.ok") : `${t("chip.failed")}: ${c.result}`), "  ", c.booklet, "  ", el("span", { class: "muted" }, when(c.at))),
    el("ul", { class: "steps" }, c.steps.map((x) => el("li", { class: "chip-step", "data-step": x.step, "data-ok": String(x.ok) },
      (x.ok ? "✓ " : "✗ ") + t("chip.step." + x.step), x.detail ? el("span", { class: "muted" }, " — " + x.detail) : null))),
    c.document_signer ? el("p", { id: "chip-ds" }, `${t("chip.ds")}: ${c.document_signer}`) : null,
    c.csca ? el("p", { id: "chip-csca" }, `${t("chip.csca")}: ${c.csca}`) : null);
}

// The newest read beside the lines printed, each differing position marked.
function readBack(list) {
  const r = list.reads[0];
  if (!r) return null;
  const marked = new Set(r.differences.map((d) => `${d.line}:${d.position}`));
  const row = (text, line) => el("div", { class: "mrz-line" }, [...text].map((c, i) =>
    marked.has(`${line}:${i + 1}`) ? el("mark", { class: "diff", "data-pos": `${line}:${i + 1}` }, c) : c));
  // A read of one line: the line its differences are on (line 2 when none says otherwise).
  const only = r.differences.some((d) => d.line === 1) && !r.differences.some((d) => d.line === 2) ? 1 : 2;
  const lines = (texts, read) => texts.map((x, i) => row(x, read && texts.length === 1 ? only : i + 1));
  return el("section", { id: "readback", "aria-label": t("read.title") },
    el("h2", {}, t("read.title")),
    el("p", {}, el("span", { class: "badge " + (r.result === "match" ? "idle" : "stopped"), id: "read-result", "data-result": r.result },
      t("read." + r.result)),
      r.differences.length ? `  ${r.differences.length} ${t("read.differs")}` : "", r.detail ? el("span", { class: "muted" }, "  — " + r.detail) : null),
    el("h3", {}, t("read.expected")), el("pre", { class: "mrz", id: "read-expected" }, lines(list.expected, false)),
    el("h3", {}, t("read.read")), el("pre", { class: "mrz", id: "read-lines" }, lines(r.lines, true)));
}

// ---- screens ------------------------------------------------------------------------------
// Each navigation gets a number; a screen whose data arrives after the user went elsewhere is
// not drawn over the newer one.
let nav = 0;

function route() {
  if (!me) return;
  nav++;
  const h = location.hash || "#/queue";
  document.querySelectorAll("#nav a").forEach((a) => {
    if (h.startsWith(a.getAttribute("href"))) a.setAttribute("aria-current", "page"); else a.removeAttribute("aria-current");
  });
  if (h.startsWith("#/job/")) return showJob(decodeURIComponent(h.slice(6)));
  if (h === "#/booklets") return showBooklets();
  if (h === "#/technician") return showTechnician();
  return showQueue();
}

function screen(title, ...content) {
  const v = $("#view");
  // A part a screen does not have for this job or role is null: left out, never shown as "null".
  v.replaceChildren(el("h1", {}, title), ...content.flat().filter((c) => c !== null && c !== undefined));
}

function fail(e) {
  screen(t("error"), el("p", { class: "error", role: "alert" }, errText(e)));
}

let queueFilter = { state: "", search: "" };

async function showQueue() {
  const my = nav;
  let jobs;
  try { jobs = (await api("GET", "/api/jobs")).jobs; } catch (e) { return my === nav && fail(e); }
  if (my !== nav) return;
  const stateSel = el("select", { id: "filter-state", on: { change: (e) => { queueFilter.state = e.target.value; draw(); } } },
    el("option", { value: "" }, t("queue.all")),
    STATES.map((s) => el("option", { value: s, selected: queueFilter.state === s }, t("state." + s))));
  const search = el("input", { id: "search", type: "search", value: queueFilter.search, autocomplete: "off",
    on: { input: (e) => { queueFilter.search = e.target.value.trim().toUpperCase(); draw(); } } });
  const body = el("tbody");
  const table = el("table", { "aria-label": t("queue.title") },
    el("thead", {}, el("tr", {}, ["col.job", "col.state", "col.booklet", "col.received", "col.reason"].map((k) => el("th", { scope: "col" }, t(k))))),
    body);
  function draw() {
    const rows = jobs.filter((j) => (!queueFilter.state || j.state === queueFilter.state) &&
      (!queueFilter.search || j.job_id.toUpperCase().includes(queueFilter.search) || j.booklet.toUpperCase().includes(queueFilter.search)));
    body.replaceChildren(...(rows.length ? rows.map((j) => {
      const open = () => { location.hash = "#/job/" + encodeURIComponent(j.job_id); };
      return el("tr", { class: "job-row", tabindex: "0", "data-job": j.job_id,
        on: { click: open, keydown: (e) => { if (e.key === "Enter") open(); } } },
      el("td", {}, el("a", { href: "#/job/" + encodeURIComponent(j.job_id) }, j.job_id)),
      el("td", {}, stateBadge(j.state)), el("td", {}, j.booklet),
      el("td", {}, when(j.received_at)), el("td", {}, j.reason || ""));
    }) : [el("tr", {}, el("td", { colspan: "5" }, t("queue.none")))]));
  }
  draw();
  screen(t("queue.title"),
    el("div", { class: "filters" },
      el("div", {}, el("label", { for: "filter-state" }, t("queue.state")), stateSel),
      el("div", {}, el("label", { for: "search" }, t("queue.search")), search)),
    table);
}

// The questions an action asks before it is sent: [field, label key, input type].
const ASK = {
  hold: [["reason", "act.reason", "text"]],
  release: [["reason", "act.reason", "text"]],
  cancel: [["reason", "act.reason", "text"]],
  spoil: [["reason", "act.reason", "text"]],
  reprint: [["booklet", "act.newbooklet", "text"], ["reason", "act.reason", "text"], ["supervisor", "act.supervisor", "password"]],
  "request-reprint": [["reason", "act.reason", "text"]],
};

// Which actions each state offers (the station's lifecycle decides; a refusal is shown).
const OFFER = {
  queued: ["hold", "cancel"], held: ["release", "cancel"], printing: ["cancel"],
  printed: ["verify", "spoil"], reading: ["verify", "spoil"], "needs-verification": ["verify", "spoil", "release"],
  failed: ["release", "cancel"], spoiled: ["reprint", "request-reprint"],
};

function ask(titleKey, fields) {
  return new Promise((resolve) => {
    const d = $("#ask");
    $("#ask-title").textContent = t(titleKey);
    $("#ask-error").textContent = "";
    $("#ask-fields").replaceChildren(...fields.map(([name, label, type]) => [
      el("label", { for: "ask-" + name }, t(label)),
      el("input", { id: "ask-" + name, name, type, autocomplete: "off", required: name !== "reason" || titleKey === "act.spoil" || titleKey === "act.request-reprint" })]).flat());
    const done = (v) => { d.close(); $("#ask-form").onsubmit = null; $("#ask-cancel").onclick = null; resolve(v); };
    $("#ask-cancel").onclick = () => done(null);
    $("#ask-form").onsubmit = (e) => {
      e.preventDefault();
      const out = {};
      for (const [name] of fields) out[name] = $("#ask-" + name).value.trim();
      done(out);
    };
    d.showModal();
    const first = $("#ask-fields input"); if (first) first.focus();
  });
}

async function act(id, action, body, headers) {
  try {
    await api("POST", `/api/jobs/${encodeURIComponent(id)}/${action}`, body, headers);
    await showJob(id);
  } catch (e) {
    // A reader checks this booklet: verifying without its read takes a reason and a supervisor.
    if (e.code === "read-required" && action === "verify") {
      const a = await ask("act.verifyhand", [["reason", "act.reason", "text"], ["supervisor", "act.supervisor", "password"]]);
      if (a) act(id, "verify", { reason: a.reason }, { "x-pstation-supervisor-token": a.supervisor });
      return;
    }
    const msg = e.status === 403 && e.code === "forbidden" ? t("act.notallowed") : errText(e);
    const out = $("#action-error"); if (out) out.textContent = msg;
  }
}

async function showJob(id) {
  const my = nav;
  let v;
  try { v = await api("GET", "/api/jobs/" + encodeURIComponent(id)); } catch (e) { return my === nav && fail(e); }
  if (my !== nav) return;
  const job = v.job;
  const counter = COUNTER.includes(me.role);
  const actions = el("div", { class: "actions", role: "group", "aria-label": t("col.action") });
  if (counter) {
    // An e-passport whose chip the station checks is reprinted only by the central office; a
    // job held by its chip check goes back to it too (decided from the job, not the panel).
    const checked = v.events.some((e) => e.action === "chip-checked" || (e.reason || "").startsWith("chip-"));
    const offered = (OFFER[job.state] || []).filter((a) => !(a === "reprint" && checked))
      .concat(job.state === "held" && (job.reason || "").startsWith("chip-") ? ["request-reprint"] : []);
    for (const a of offered) {
      const label = "act." + a;
      actions.append(el("button", { type: "button", id: "act-" + a, class: a === "verify" ? "primary" : (a === "cancel" || a === "spoil") ? "danger" : null,
        on: { click: async () => {
          let body = {}; let headers;
          if (ASK[a]) {
            const answers = await ask(label, ASK[a]);
            if (!answers) return;
            body = { reason: answers.reason || undefined, booklet: answers.booklet };
            if (answers.supervisor) headers = { "x-pstation-supervisor-token": answers.supervisor };
          }
          act(id, a, body, headers);
        } } }, t(label)));
    }
  }
  const confirm = counter && ["queued", "held"].includes(job.state) && !job.booklet_confirmed
    ? el("form", { id: "confirm-form", on: { submit: (e) => { e.preventDefault(); act(id, "confirm-booklet", { booklet: $("#confirm-number").value.trim() }); } } },
      el("label", { for: "confirm-number" }, t("act.confirm.label")),
      el("input", { id: "confirm-number", autocomplete: "off", required: true }),
      " ", el("button", { type: "submit", class: "primary" }, t("act.confirm")))
    : job.booklet_confirmed ? el("p", {}, "✓ " + t("job.confirmed")) : null;
  const left = el("div", {});
  if (job.purged_at) {
    left.append(el("p", { class: "muted" }, t("job.purged")));
  } else if (counter) {
    const img = el("img", { class: "preview", alt: `${t("job.preview")} ${job.job_id}` });
    const mrz = el("pre", { class: "mrz", "aria-label": t("job.mrz") });
    left.append(el("h2", {}, t("job.preview")), img, el("h2", {}, t("job.mrz")), mrz);
    // Fetched once per job and booklet while the page is open (each fetch is a recorded view);
    // a live update of the job redraws the rest around it.
    const key = job.job_id + "|" + job.booklet;
    if (preview.key !== key) {
      if (preview.url) URL.revokeObjectURL(preview.url);
      preview.key = key; preview.url = null; preview.mrz = null;
      preview.loading = Promise.all([
        api("GET", `/api/jobs/${encodeURIComponent(id)}/page.png`).then((b) => { if (preview.key === key) preview.url = URL.createObjectURL(b); }),
        api("GET", `/api/jobs/${encodeURIComponent(id)}/mrz`).then((m) => { if (preview.key === key) preview.mrz = m.lines.join("\n"); }),
      ]).catch(() => {});
    }
    preview.loading.then(() => {
      if (preview.key !== key) return;
      if (preview.url) img.src = preview.url;
      if (preview.mrz) mrz.textContent = preview.mrz;
    });
  }
  // What the reader read, when it has read this booklet (a recorded view of personal data).
  // Fetched again only when the job has a new read (each fetch is a recorded view), not at
  // every live update that redraws the screen.
  const reads = el("div", {});
  const readCount = v.events.filter((e) => e.action.startsWith("read-")).length;
  if (counter && !job.purged_at && readCount) {
    const key = `${job.job_id}|${readCount}`;
    const show = (list) => { if (my === nav) reads.replaceChildren(...[readBack(list)].filter(Boolean)); };
    if (readsShown.key === key && readsShown.list) show(readsShown.list);
    else api("GET", `/api/jobs/${encodeURIComponent(id)}/reads`).then((list) => {
      readsShown.key = key; readsShown.list = list; show(list);
    }).catch(() => {});
  }
  // The chip checks of the job's booklets (no personal data: steps, codes, signers' names).
  const chips = el("div", {});
  if (v.events.some((e) => e.action === "chip-checked" || (e.reason || "").startsWith("chip-"))) {
    api("GET", `/api/jobs/${encodeURIComponent(id)}/chip`).then((list) => {
      if (my === nav) chips.replaceChildren(...[chipCheck(list)].filter(Boolean));
    }).catch(() => {});
  }
  // A keyboard-wedge reader types both lines into this field.
  const wedge = counter && job.state === "reading"
    ? el("form", { id: "wedge-form", on: { submit: async (e) => {
      e.preventDefault();
      const lines = $("#wedge").value.split(/\r?\n/).map((l) => l.trim()).filter(Boolean);
      try { await api("POST", "/api/reader/read", { lines }); await showJob(id); }
      catch (err) { $("#action-error").textContent = errText(err); }
    } } },
    el("label", { for: "wedge" }, t("read.wedge")),
    el("textarea", { id: "wedge", rows: "2", cols: "46", autocomplete: "off", spellcheck: "false", class: "mrz",
      on: { keydown: (e) => {
        // The wedge ends each line with Enter: the second one sends the read.
        if (e.key === "Enter" && e.target.value.trim().split(/\r?\n/).length >= 2) { e.preventDefault(); $("#wedge-form").requestSubmit(); }
      } } }),
    " ", el("button", { type: "submit" }, t("read.send")))
    : null;
  const history = el("table", { "aria-label": t("job.history") },
    el("thead", {}, el("tr", {}, ["col.at", "col.action", "col.actor", "col.state", "col.reason"].map((k) => el("th", { scope: "col" }, t(k))))),
    el("tbody", {}, v.events.map((e) => el("tr", {},
      el("td", {}, when(e.at)), el("td", {}, e.action), el("td", {}, e.actor),
      el("td", {}, e.to_state ? t("state." + e.to_state) : ""), el("td", {}, e.reason || "")))));
  screen(`${t("job.title")} ${job.job_id}`,
    el("p", { "data-job": job.job_id }, stateBadge(job.state), "  ", t("col.booklet"), ": ", el("b", {}, job.booklet),
      job.reason ? el("span", { class: "muted" }, "  — " + job.reason) : null),
    confirm, wedge, actions, el("p", { id: "action-error", class: "error", role: "alert" }),
    chips, reads,
    el("div", { class: "detail" }, left, el("div", {}, el("h2", {}, t("job.history")), history)),
    el("p", {}, el("a", { href: "#/queue" }, "← " + t("job.back"))));
  const input = $("#confirm-number") || $("#wedge"); if (input) input.focus();
}

async function showBooklets() {
  const my = nav;
  let rec, spoiled, batches;
  try {
    rec = await api("GET", "/api/booklets/reconcile");
    const list = await api("GET", "/api/booklets?state=spoiled");
    spoiled = list.booklets; batches = list.batches || [];
  } catch (e) { return my === nav && fail(e); }
  if (my !== nav) return;
  const r = rec.reconciliation;
  const card = (k, n) => el("div", { class: "card" }, t(k), el("b", {}, n));
  const receive = COUNTER.includes(me.role) ? el("form", { id: "receive-form", on: { submit: async (e) => {
    e.preventDefault();
    try {
      await api("POST", "/api/booklets/batches", { first: $("#batch-first").value.trim(), last: $("#batch-last").value.trim() });
      showBooklets();
    } catch (err) { $("#receive-error").textContent = errText(err); }
  } } },
  el("h2", {}, t("booklets.receive")),
  el("label", { for: "batch-first" }, t("booklets.first")), el("input", { id: "batch-first", required: true, autocomplete: "off" }),
  el("label", { for: "batch-last" }, t("booklets.last")), el("input", { id: "batch-last", required: true, autocomplete: "off" }),
  " ", el("button", { type: "submit" }, t("booklets.receive")),
  el("p", { id: "receive-error", class: "error", role: "alert" })) : null;
  screen(t("booklets.title"),
    el("div", { class: "cards" }, card("booklets.received", r.received), card("booklets.instock", r.in_stock),
      card("booklets.issued", r.issued), card("booklets.spoiled", r.spoiled), card("booklets.loaded", r.loaded)),
    el("p", { id: "balance", role: "status" }, rec.balanced ? "✓ " + t("booklets.balanced") : "✗ " + t("booklets.unbalanced"),
      ...(r.differences || []).map((d) => el("div", { class: "error" }, d))),
    el("h2", {}, t("booklets.batches")),
    el("table", { id: "batches" }, el("thead", {}, el("tr", {}, ["booklets.first", "booklets.last", "booklets.count", "col.received", "col.actor"].map((k) => el("th", { scope: "col" }, t(k))))),
      el("tbody", {}, batches.map((x) => el("tr", {}, el("td", {}, x.first), el("td", {}, x.last), el("td", {}, x.count),
        el("td", {}, when(x.received_at)), el("td", {}, x.actor))))),
    el("h2", {}, t("booklets.register")),
    el("table", { id: "spoiled" }, el("thead", {}, el("tr", {}, ["col.number", "col.job", "col.reason"].map((k) => el("th", { scope: "col" }, t(k))))),
      el("tbody", {}, spoiled.map((b) => el("tr", {}, el("td", {}, b.number), el("td", {}, b.job_id || ""), el("td", {}, b.reason || ""))))),
    receive);
}

async function showTechnician() {
  const my = nav;
  let p;
  try { p = await api("GET", "/api/printer"); } catch (e) { return my === nav && fail(e); }
  if (my !== nav) return;
  const id = p.identity;
  const tech = ["technician", "admin"].includes(me.role);
  const c = p.calibration || {};
  const output = el("pre", { id: "pjl-output", class: "console-out", "aria-live": "polite", "aria-label": t("tech.answer") });
  const testResult = el("p", { id: "test-page-result", role: "status" });
  const tools = tech ? [
    el("h2", {}, t("tech.calibration")),
    el("p", {}, `${t("tech.offset")}: x ${c.offset_x_mm} mm, y ${c.offset_y_mm} mm `, el("span", { class: "muted" }, t("tech.offset.how"))),
    el("button", { type: "button", id: "test-page", on: { click: async (e) => {
      e.target.disabled = true; testResult.textContent = "…";
      try { const r = await api("POST", "/api/printer/test-page"); testResult.textContent = `✓ ${t("tech.printed")} (${r.pages})`; }
      catch (err) { testResult.textContent = errText(err); }
      e.target.disabled = false;
    } } }, t("tech.testpage")),
    testResult,
    ...(p.console ? [el("h2", {}, t("tech.console").replace("{lang}", p.console)),
    el("form", { id: "pjl-form", on: { submit: async (e) => {
      e.preventDefault();
      const cmd = $("#pjl-command").value.trim();
      try { const r = await api("POST", "/api/printer/pjl", { command: cmd }); output.textContent = `> ${cmd}\n` + r.lines.join("\n"); }
      catch (err) { output.textContent = `> ${cmd}\n${errText(err)}`; }
    } } },
    el("label", { for: "pjl-command" }, t("tech.command")),
    el("input", { id: "pjl-command", autocomplete: "off", value: "INFO STATUS", size: 40 }), " ",
    el("button", { type: "submit" }, t("tech.send"))),
    output] : [el("p", { id: "no-console", class: "muted" }, t("tech.noconsole"))]),
  ] : [];
  screen(t("tech.title"),
    el("h2", {}, t("tech.identity")),
    id ? el("table", { id: "identity" }, el("tbody", {},
      el("tr", {}, el("th", { scope: "row" }, t("tech.family")), el("td", { id: "family" }, p.family)),
      el("tr", {}, el("th", { scope: "row" }, t("tech.model")), el("td", {}, id.model)),
      el("tr", {}, el("th", { scope: "row" }, t("tech.pagecount")), el("td", { id: "page-count" }, id.page_count ?? "—",
        " ", el("button", { type: "button", id: "identity-refresh", on: { click: async (e) => {
          e.target.disabled = true;
          try { await api("POST", "/api/printer/identity"); await showTechnician(); }
          catch (err) { e.target.disabled = false; e.target.after(el("span", { class: "error" }, " " + errText(err))); }
        } } }, t("tech.refresh")))),
      (id.config || []).map((l) => el("tr", {}, el("th", { scope: "row" }, "CONFIG"), el("td", {}, l)))))
      : el("p", {}, t("tech.none")),
    ...tools,
    el("h2", {}, t("tech.history")),
    el("table", {}, el("thead", {}, el("tr", {}, ["col.at", "col.state", "col.reason"].map((k) => el("th", { scope: "col" }, t(k))))),
      el("tbody", {}, p.history.map((h) => el("tr", {}, el("td", {}, when(h.at)), el("td", {}, h.state + " / " + h.link), el("td", {}, h.reasons))))));
}

document.addEventListener("DOMContentLoaded", start);

// The melgenre page: choose, drop or record a file, see the label, the top-k bars and
// the per-window timeline. Plain JavaScript, no build step, nothing fetched but this server.
"use strict";

const $ = (id) => document.getElementById(id);
const state = { labels: [], maxBytes: Infinity, busy: false };

function color(label) {
  const i = Math.max(0, state.labels.indexOf(label));
  const hue = Math.round((i * 360) / Math.max(1, state.labels.length));
  return `hsl(${hue}, 62%, 52%)`;
}

function percent(x) {
  return `${(100 * x).toFixed(1)}%`;
}

function showError(message) {
  const box = $("error");
  box.textContent = message;
  box.hidden = !message;
}

function setStatus(text) {
  $("status").textContent = text;
}

async function loadInfo() {
  try {
    const response = await fetch("/info");
    const info = await response.json();
    state.labels = info.labels;
    state.maxBytes = info.limits.max_bytes;
    const windowText = info.window_seconds ? `, ${info.window_seconds.toFixed(2)} s windows` : "";
    const metrics = info.metrics && info.metrics.file_accuracy !== undefined
      ? `; file-level test accuracy ${percent(info.metrics.file_accuracy)}` : "";
    $("info").textContent =
      `${info.labels.length} labels: ${info.labels.join(", ")} ` +
      `(${info.sample_rate} Hz${windowText}${metrics}). ` +
      `Up to ${(info.limits.max_bytes / 2 ** 20).toFixed(0)} MiB and ` +
      `${Math.round(info.limits.max_seconds)} s of audio.`;
  } catch (err) {
    $("info").textContent = "";
    showError(`Cannot read the model information: ${err}`);
  }
}

function renderTopK(topk) {
  const list = $("topk");
  list.replaceChildren();
  for (const { label, score } of topk) {
    const item = document.createElement("li");
    item.dataset.label = label;
    const name = document.createElement("span");
    name.className = "name";
    name.textContent = label;
    const track = document.createElement("span");
    track.className = "track";
    const fill = document.createElement("span");
    fill.className = "fill";
    fill.style.width = percent(score);
    fill.style.background = color(label);
    track.append(fill);
    const value = document.createElement("span");
    value.className = "score";
    value.textContent = percent(score);
    item.append(name, track, value);
    list.append(item);
  }
}

function renderTimeline(windows) {
  const line = $("timeline");
  line.replaceChildren();
  const seen = [];
  for (const w of windows) {
    const segment = document.createElement("div");
    segment.className = "segment";
    segment.dataset.label = w.label;
    segment.dataset.start = w.start;
    segment.dataset.end = w.end;
    segment.style.background = color(w.label);
    segment.title = `${w.start.toFixed(2)}-${w.end.toFixed(2)} s: ${w.label} (${percent(w.confidence)})`;
    line.append(segment);
    if (!seen.includes(w.label)) seen.push(w.label);
  }
  const legend = $("legend");
  legend.replaceChildren();
  for (const label of seen) {
    const key = document.createElement("span");
    key.style.setProperty("--swatch", color(label));
    key.textContent = label;
    legend.append(key);
  }
  const end = windows.length ? windows[windows.length - 1].end : 0;
  $("timeline-summary").textContent =
    `${windows.length} window${windows.length === 1 ? "" : "s"} over ${end.toFixed(1)} s`;
}

function render(result) {
  $("source").textContent = result.source;
  $("label").textContent = result.label;
  $("confidence").textContent = percent(result.confidence);
  $("silent").hidden = !result.silent;
  renderTopK(result.top_k);
  renderTimeline(result.windows || []);
  $("result").hidden = false;
}

async function classify(file, name) {
  if (state.busy) return;
  showError("");
  if (file.size > state.maxBytes) {
    showError(`${name} is ${(file.size / 2 ** 20).toFixed(1)} MiB, over this server's limit.`);
    return;
  }
  state.busy = true;
  setStatus(`Classifying ${name}\u2026`);
  const form = new FormData();
  form.append("file", file, name);
  const k = Math.max(1, state.labels.length);
  try {
    const response = await fetch(`/predict?top_k=${k}&timeline=true`, { method: "POST", body: form });
    const body = await response.json().catch(() => ({ detail: response.statusText }));
    if (!response.ok) {
      showError(`${response.status} ${body.title || ""}: ${body.detail}`);
      setStatus("");
      return;
    }
    render(body);
    setStatus(`Done: ${name}`);
  } catch (err) {
    showError(`The request failed: ${err}`);
    setStatus("");
  } finally {
    state.busy = false;
  }
}

// ------------------------------------------------------------- choose or drop a file

function setUpFileInput() {
  const input = $("file");
  input.addEventListener("change", () => {
    if (input.files.length) classify(input.files[0], input.files[0].name);
    input.value = "";
  });
  const drop = $("drop");
  drop.addEventListener("dragover", (event) => {
    event.preventDefault();
    drop.classList.add("over");
  });
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", (event) => {
    event.preventDefault();
    drop.classList.remove("over");
    const files = event.dataTransfer.files;
    if (files.length) classify(files[0], files[0].name);
  });
}

// ------------------------------------------------------------- record from the microphone

function encodeWav(chunks, sampleRate) {
  const n = chunks.reduce((total, c) => total + c.length, 0);
  const buffer = new ArrayBuffer(44 + 2 * n);
  const view = new DataView(buffer);
  const text = (offset, s) => [...s].forEach((ch, i) => view.setUint8(offset + i, ch.charCodeAt(0)));
  text(0, "RIFF");
  view.setUint32(4, 36 + 2 * n, true);
  text(8, "WAVE");
  text(12, "fmt ");
  view.setUint32(16, 16, true);
  view.setUint16(20, 1, true); // PCM
  view.setUint16(22, 1, true); // mono
  view.setUint32(24, sampleRate, true);
  view.setUint32(28, 2 * sampleRate, true);
  view.setUint16(32, 2, true);
  view.setUint16(34, 16, true);
  text(36, "data");
  view.setUint32(40, 2 * n, true);
  let offset = 44;
  for (const chunk of chunks) {
    for (const x of chunk) {
      view.setInt16(offset, Math.max(-1, Math.min(1, x)) * 0x7fff, true);
      offset += 2;
    }
  }
  return new Blob([buffer], { type: "audio/wav" });
}

function setUpRecorder() {
  const button = $("record");
  let session = null;

  async function start() {
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
      showError("Recording needs a microphone and a secure page (HTTPS, or this server on localhost).");
      return;
    }
    showError("");
    try {
      const stream = await navigator.mediaDevices.getUserMedia({ audio: true });
      const context = new AudioContext();
      const source = context.createMediaStreamSource(stream);
      const processor = context.createScriptProcessor(4096, 1, 1);
      const chunks = [];
      processor.onaudioprocess = (event) => chunks.push(new Float32Array(event.inputBuffer.getChannelData(0)));
      source.connect(processor);
      processor.connect(context.destination);
      const started = Date.now();
      const timer = setInterval(() => setStatus(`Recording\u2026 ${((Date.now() - started) / 1000).toFixed(0)} s`), 250);
      session = { stream, context, processor, source, chunks, timer };
      button.textContent = "\u25A0 Stop";
      button.classList.add("recording");
      setStatus("Recording\u2026 0 s");
    } catch (err) {
      showError(`Cannot record: ${err.message || err}`);
    }
  }

  async function stop() {
    const { stream, context, processor, source, chunks, timer } = session;
    session = null;
    clearInterval(timer);
    source.disconnect();
    processor.disconnect();
    stream.getTracks().forEach((track) => track.stop());
    const rate = context.sampleRate;
    await context.close();
    button.textContent = "\u25CF Record";
    button.classList.remove("recording");
    if (!chunks.length) {
      showError("Nothing was recorded.");
      setStatus("");
      return;
    }
    await classify(encodeWav(chunks, rate), "recording.wav");
  }

  button.addEventListener("click", () => (session ? stop() : start()));
}

document.addEventListener("DOMContentLoaded", () => {
  setUpFileInput();
  setUpRecorder();
  loadInfo();
});

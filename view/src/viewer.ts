// The viewer of one image edit, as an MCP App: before/after, the facts, a pending job followed to its end, and
// "edit again". It speaks only to its host (postMessage); images come from the server's preview_image tool.

import {
  App,
  applyDocumentTheme,
  applyHostFonts,
  applyHostStyleVariables,
  type McpUiHostContext,
} from "@modelcontextprotocol/ext-apps/app-with-deps";
import { Brush } from "./brush";
import { Compare } from "./compare";
import {
  EMPTY_ARGS,
  type EditArgs,
  fileNameOf,
  inputsOf,
  isWebUrl,
  type Report,
  readArgs,
  readReport,
} from "./contract";
import { factsOf, statusText } from "./facts";
import { drawMaskOutline } from "./mask";
import { errorText, Previews, textOf, type ToolResult } from "./previews";
import { lookup, renderFacts, renderThumbs, setBadge, showBusy, showMessage, showNote, type Tone } from "./ui";

const WAIT_SECONDS = 20;
const MAX_RESUMES = 45; // 45 calls of 20 s: a quarter of an hour, then the user decides
const THUMB_SIDE = 160;
const TERMINAL_FAILURES = new Set(["failed", "cancelled", "timeout", "deleted"]);

interface State {
  args: EditArgs; // the arguments of the edit on screen
  original: EditArgs | null; // what the host's tool call sent first: "the original"
  report: Report | null;
  hostError: string | null; // the text of a tool error that carried no report
  awaitingHost: boolean; // the host sent the input and is running the tool
  inputIndex: number;
  outputIndex: number;
  naturalSize: string | null;
  busy: string | null; // an edit-again call in flight
  waiting: "idle" | "running" | "stopped";
  checks: number;
  pendingSince: number | null;
  progress: string | null;
  maskShown: boolean;
  base: "result" | "original"; // what "edit again" applies to, as the user chose
}

const ui = lookup();
const app = new App({ name: "qwen-image-edit-viewer", version: "1.0.0" }, {}, { autoResize: true });
const previews = new Previews(app);
const brush = new Brush(ui.brush);
let brushToken = 0;
let sharpPreviews = false; // zoomed in: previews at twice the stage's pixels
const compare = new Compare({
  stage: ui.stage,
  before: ui.beforeImg,
  after: ui.afterImg,
  overlay: ui.maskCanvas,
  handle: ui.handle,
  zoomLabel: ui.zoomLabel,
  onZoom: (zoom) => {
    const sharp = zoom > 1.5;
    if (sharp !== sharpPreviews) {
      sharpPreviews = sharp;
      void renderStage();
    }
  },
});
const state: State = {
  args: EMPTY_ARGS,
  original: null,
  report: null,
  hostError: null,
  awaitingHost: false,
  inputIndex: 0,
  outputIndex: 0,
  naturalSize: null,
  busy: null,
  waiting: "idle",
  checks: 0,
  pendingSince: null,
  progress: null,
  maskShown: false,
  base: "result",
};
let stageToken = 0;
let waitAbort: AbortController | null = null;
let ticker: number | null = null;

// ---- rendering -------------------------------------------------------------------------------------------

function previewSide(): number {
  const width = ui.stage.clientWidth || 480;
  const pixels = width * (window.devicePixelRatio || 1) * (sharpPreviews ? 2 : 1);
  return Math.min(1536, Math.max(512, Math.ceil(pixels / 256) * 256));
}

function currentOutput(): string | null {
  const outputs = state.report?.outputs ?? [];
  return outputs[state.outputIndex] ?? outputs[0] ?? null;
}

function badge(): [string, Tone] {
  const report = state.report;
  if (state.busy !== null) return [state.busy, "busy"];
  if (report === null) {
    if (state.hostError !== null) return ["Error", "danger"];
    return state.awaitingHost ? ["Editing", "busy"] : ["Waiting for the edit", "neutral"];
  }
  if (report.pending) return [statusText(report), "busy"];
  if (report.status === "completed") return ["completed", "ok"];
  return [report.status, TERMINAL_FAILURES.has(report.status) ? "danger" : "neutral"];
}

function render(): void {
  const [text, tone] = badge();
  setBadge(ui, text, tone);
  const prompt = state.args.prompt;
  ui.prompt.hidden = !prompt;
  ui.prompt.textContent = prompt ? `“${prompt}”` : "";
  renderFacts(ui, state.report ? factsOf(state.report, state.args, state.naturalSize) : []);
  renderPending();
  renderActions();
  renderAllThumbs();
  void renderStage();
}

function renderPending(): void {
  const report = state.report;
  const pending = report?.pending === true;
  ui.pending.hidden = !pending;
  ui.pending.classList.toggle("stopped", state.waiting === "stopped");
  if (!pending || report === null) return;
  const since = state.pendingSince ?? Date.now();
  const running = Math.max(0, Math.round((Date.now() - since) / 1000));
  const parts = [`Status: ${report.status}`, `running for ${running} s`];
  if (state.checks > 0) parts.push(`checked ${state.checks} time${state.checks === 1 ? "" : "s"}`);
  if (state.progress) parts.push(state.progress);
  if (state.waiting === "stopped") parts.push("not waiting any more");
  ui.pendingText.textContent = `${parts.join(" · ")}.`;
  ui.pendingToggle.textContent = state.waiting === "stopped" ? "Keep waiting" : "Stop waiting";
}

function renderActions(): void {
  const output = currentOutput();
  const web = output !== null && isWebUrl(output);
  ui.open.hidden = !web;
  ui.download.hidden = !web || !app.getHostCapabilities()?.downloadFile;
  const mask = state.report?.mask ?? state.args.mask;
  ui.maskToggle.hidden = !mask;
  ui.maskToggle.setAttribute("aria-pressed", String(state.maskShown));
  ui.maskToggle.textContent = state.maskShown ? "Hide mask" : "Show mask";
  const resultBase = ui.again.querySelector<HTMLInputElement>('input[value="result"]');
  const originalBase = ui.again.querySelector<HTMLInputElement>('input[value="original"]');
  const canResult = output !== null;
  const canOriginal = state.original !== null && inputsOf(null, state.original).length > 0;
  if (resultBase && originalBase) {
    resultBase.disabled = !canResult;
    originalBase.disabled = !canOriginal;
    // The user's choice when it is possible, else the one that is.
    const useOriginal = canOriginal && (state.base === "original" || !canResult);
    originalBase.checked = useOriginal;
    resultBase.checked = !useOriginal;
  }
  ui.again.hidden = !(canResult || canOriginal) || state.awaitingHost;
  const blocked = state.busy !== null || state.report?.pending === true;
  ui.againSubmit.disabled = blocked;
  ui.againSeed.disabled = blocked;
  void updateBrush();
}

/** Show the image "edit again" applies to under the brush (its first image when there are several). */
async function updateBrush(): Promise<void> {
  const token = ++brushToken;
  const base = chosenBase();
  const images = base?.["images"];
  const ref = Array.isArray(images) ? images[0] : base?.["image"];
  const loaded = typeof ref === "string" ? await previews.load(ref, previewSide()) : null;
  if (token !== brushToken) return;
  brush.setImage(loaded?.ok ? loaded.url : null);
}

function renderAllThumbs(): void {
  const thumb = async (ref: string): Promise<string | null> => {
    const loaded = await previews.load(ref, THUMB_SIDE);
    return loaded.ok ? loaded.url : null;
  };
  const inputs = inputsOf(state.report, state.args);
  renderThumbs(ui.inputs, inputs, state.inputIndex, (i) => `Input ${i + 1} of ${inputs.length}`, thumb, (i) => {
    state.inputIndex = i;
    render();
  });
  const outputs = state.report?.outputs ?? [];
  renderThumbs(ui.outputs, outputs, state.outputIndex, (i) => `Result ${i + 1} of ${outputs.length}`, thumb, (i) => {
    state.outputIndex = i;
    state.naturalSize = null;
    render();
  });
}

function setImage(img: HTMLImageElement, url: string | null): void {
  if (url === null) img.removeAttribute("src");
  else if (img.getAttribute("src") !== url) img.src = url;
}

async function decodedSize(img: HTMLImageElement): Promise<[number, number] | null> {
  try {
    await img.decode();
    return [img.naturalWidth, img.naturalHeight];
  } catch {
    return null;
  }
}

async function renderStage(): Promise<void> {
  const token = ++stageToken;
  const inputs = inputsOf(state.report, state.args);
  const beforeRef = inputs[state.inputIndex] ?? inputs[0] ?? null;
  const afterRef = currentOutput();
  const side = previewSide();
  showBusy(ui, busyText());
  const [before, after] = await Promise.all([
    beforeRef === null ? null : previews.load(beforeRef, side),
    afterRef === null ? null : previews.load(afterRef, side),
  ]);
  if (token !== stageToken) return;
  const notes: string[] = [];
  if (after && !after.ok) notes.push(`The result can't be shown here: ${after.why}.`);
  if (before && !before.ok) notes.push(`The input image can't be shown here: ${before.why}.`);
  const main = after?.ok ? after : before?.ok ? before : null;
  const comparing = after?.ok === true && before?.ok === true;
  setImage(ui.afterImg, main?.ok ? main.url : null);
  setImage(ui.beforeImg, comparing && before?.ok ? before.url : null);
  ui.tagAfter.hidden = main === null;
  ui.tagAfter.textContent = after?.ok ? "After" : "Before";
  compare.setComparing(comparing);
  if (main === null && notes.length === 0 && !busyText()) notes.push(emptyNote());
  if (main?.ok) {
    const size = await decodedSize(ui.afterImg);
    if (token !== stageToken) return;
    if (size === null) notes.push("The image can't be shown here: this browser could not decode it.");
    else ui.stage.style.setProperty("--aspect", `${size[0]} / ${size[1]}`);
  }
  showNote(ui, notes);
  const natural = after?.ok && after.width && after.height ? `${after.width}*${after.height}` : null;
  if (natural !== state.naturalSize && state.report) {
    state.naturalSize = natural;
    renderFacts(ui, factsOf(state.report, state.args, natural));
  }
}

function busyText(): string | null {
  if (state.busy !== null) return state.busy;
  if (state.report?.pending) return "Waiting for the result";
  if (state.awaitingHost && state.report === null) return "Editing";
  return null;
}

function emptyNote(): string {
  if (state.report && TERMINAL_FAILURES.has(state.report.status)) return "The edit produced no image.";
  if (state.report) return "There is no image to show.";
  if (state.hostError) return "The edit did not run.";
  return "Waiting for the edit.";
}

// ---- the host's notifications ------------------------------------------------------------------------------

function applyHostContext(context: McpUiHostContext): void {
  if (context.theme) applyDocumentTheme(context.theme);
  if (context.styles?.variables) applyHostStyleVariables(context.styles.variables);
  if (context.styles?.css?.fonts) applyHostFonts(context.styles.css.fonts);
}

function onToolInput(args: unknown): void {
  const read = readArgs(args);
  state.args = read;
  if (read.image !== null || read.images !== null) state.original = read;
  state.awaitingHost = true;
  state.inputIndex = 0;
  render();
}

function applyResult(result: ToolResult, fromHost: boolean): void {
  const report = readReport(result.structuredContent);
  if (fromHost) state.awaitingHost = false;
  if (report === null) {
    state.hostError = textOf(result) || "The tool failed without saying why.";
    showMessage(ui, state.hostError);
    render();
    return;
  }
  state.hostError = null;
  showMessage(ui, result.isError ? textOf(result) || report.error : null);
  applyReport(report);
}

function applyReport(report: Report): void {
  const same = state.report?.prediction_id === report.prediction_id;
  if (!same) {
    state.outputIndex = 0;
    state.naturalSize = null;
    state.checks = 0;
    state.progress = null;
    state.pendingSince = Date.now() - (report.elapsed_seconds ?? 0) * 1000;
    state.maskShown = false;
    ui.maskLayer.hidden = true;
    if (state.waiting === "stopped") state.waiting = "idle";
  }
  state.report = report;
  if (report.inputs && report.inputs.length > 0 && state.original === null) {
    state.original = { ...EMPTY_ARGS, images: report.inputs };
  }
  setTicking(report.pending);
  render();
  if (report.pending && state.waiting !== "stopped") void resume();
}

function setTicking(on: boolean): void {
  if (on && ticker === null) ticker = window.setInterval(renderPending, 1000);
  if (!on && ticker !== null) {
    window.clearInterval(ticker);
    ticker = null;
  }
}

// ---- resuming a pending job --------------------------------------------------------------------------------

async function resume(): Promise<void> {
  if (state.waiting === "running") return;
  state.waiting = "running";
  render();
  try {
    for (let call = 0; call < MAX_RESUMES && state.report?.pending && state.waiting === "running"; call++) {
      waitAbort = new AbortController();
      const result = await app.callServerTool(
        { name: "get_prediction", arguments: { prediction_id: state.report.prediction_id, wait_seconds: WAIT_SECONDS } },
        {
          signal: waitAbort.signal,
          timeout: (WAIT_SECONDS + 40) * 1000,
          resetTimeoutOnProgress: true,
          onprogress: (progress) => {
            state.progress = progress.message ?? null;
            renderPending();
          },
        },
      );
      state.checks += 1;
      const report = readReport(result.structuredContent);
      if (result.isError || report === null) {
        showMessage(ui, `Checking the job failed: ${textOf(result) || "no answer"}. Press Keep waiting to try again.`);
        state.waiting = "stopped";
        break;
      }
      state.report = report;
      if (!report.pending) showMessage(ui, null);
      render();
    }
  } catch (error) {
    if (state.waiting === "running") {
      showMessage(ui, `The host could not check the job: ${errorText(error)}. Press Keep waiting to try again.`);
      state.waiting = "stopped";
    }
  } finally {
    waitAbort = null;
    if (state.waiting === "running") state.waiting = state.report?.pending ? "stopped" : "idle";
    setTicking(state.report?.pending === true);
    render();
  }
}

function togglePending(): void {
  if (state.waiting === "stopped") {
    state.waiting = "idle";
    showMessage(ui, null);
    void resume();
    return;
  }
  state.waiting = "stopped";
  waitAbort?.abort();
  render();
}

// ---- edit again --------------------------------------------------------------------------------------------

function randomSeed(): number {
  const buffer = new Uint32Array(1);
  crypto.getRandomValues(buffer);
  return buffer[0]! % 2_147_483_648;
}

function chosenBase(): Record<string, unknown> | null {
  const choice = ui.again.querySelector<HTMLInputElement>('input[name="base"]:checked')?.value;
  const output = currentOutput();
  if (choice === "result" && output !== null) return { image: output };
  const original = state.original;
  if (original === null) return null;
  if (original.images && original.images.length > 0) return { images: original.images };
  return original.image !== null ? { image: original.image } : null;
}

async function editAgain(newSeed: boolean): Promise<void> {
  if (state.busy !== null) return;
  const typed = ui.againPrompt.value.trim();
  const prompt = typed || (newSeed ? state.args.prompt : null);
  const base = chosenBase();
  if (!prompt) {
    showMessage(ui, "Write what to change first.", "info");
    ui.againPrompt.focus();
    return;
  }
  if (base === null) {
    showMessage(ui, "There is no image to edit yet.", "info");
    return;
  }
  const args: Record<string, unknown> = { ...base, prompt, seed: newSeed ? randomSeed() : -1 };
  const model = state.args.model ?? state.original?.model ?? state.report?.variant ?? null;
  if (model !== null) args["model"] = model;
  const mask = brush.maskUri();
  if (mask !== null) args["mask"] = mask;
  state.busy = "Editing again";
  showMessage(ui, null);
  render();
  try {
    // The server waits up to its wait_seconds (50 s by default) and then answers "pending"; progress keeps it alive.
    const result = await app.callServerTool(
      { name: "edit_image", arguments: args },
      {
        timeout: 120_000,
        resetTimeoutOnProgress: true,
        onprogress: (progress) => {
          if (progress.message && state.busy !== null) showBusy(ui, `Editing again: ${progress.message}`);
        },
      },
    );
    if (readReport(result.structuredContent) !== null) {
      state.args = readArgs(args);
      state.inputIndex = 0;
    }
    state.busy = null;
    applyResult(result, false);
    void tellModel(prompt);
  } catch (error) {
    state.busy = null;
    showMessage(ui, `The host could not run the edit: ${errorText(error)}.`);
    render();
  }
}

async function tellModel(prompt: string): Promise<void> {
  const report = state.report;
  if (report === null || !app.getHostCapabilities()?.updateModelContext) return;
  const outputs = report.outputs.length > 0 ? ` Result: ${report.outputs.join(" ")}` : "";
  const text = `In the image viewer the user edited again with the prompt "${prompt}": prediction ${report.prediction_id}, status ${report.status}.${outputs}`;
  try {
    await app.updateModelContext({ content: [{ type: "text", text }] });
  } catch {
    // The model's context is a courtesy; the user already sees the result.
  }
}

// ---- open, download, mask ----------------------------------------------------------------------------------

async function openFull(): Promise<void> {
  const output = currentOutput();
  if (output === null) return;
  const result = await app.openLink({ url: output }).catch((error: unknown) => ({ isError: true, why: errorText(error) }));
  if (result.isError) showMessage(ui, `The host did not open the image. Its address: ${output}`, "info");
}

async function downloadFull(): Promise<void> {
  const output = currentOutput();
  if (output === null) return;
  const name = fileNameOf(output);
  const result = await app
    .downloadFile({ contents: [{ type: "resource_link", uri: output, name }] })
    .catch((error: unknown) => ({ isError: true, why: errorText(error) }));
  if (result.isError) showMessage(ui, `The host did not download the image. Its address: ${output}`, "info");
}

async function toggleMask(): Promise<void> {
  const mask = state.report?.mask ?? state.args.mask;
  if (!mask) return;
  state.maskShown = !state.maskShown;
  ui.maskLayer.hidden = !state.maskShown;
  renderActions();
  if (!state.maskShown) return;
  const loaded = await previews.load(mask, previewSide());
  try {
    if (!loaded.ok) throw new Error(loaded.why);
    await drawMaskOutline(ui.maskCanvas, loaded.url);
  } catch (error) {
    state.maskShown = false;
    ui.maskLayer.hidden = true;
    renderActions();
    showMessage(ui, `The mask can't be shown here: ${errorText(error)}.`);
  }
}

// ---- wiring ------------------------------------------------------------------------------------------------

function wireControls(): void {
  ui.zoomIn.addEventListener("click", () => compare.zoomBy(1.5));
  ui.zoomOut.addEventListener("click", () => compare.zoomBy(1 / 1.5));
  ui.zoomReset.addEventListener("click", () => compare.resetZoom());
  ui.maskToggle.addEventListener("click", () => void toggleMask());
  ui.open.addEventListener("click", () => void openFull());
  ui.download.addEventListener("click", () => void downloadFull());
  ui.pendingToggle.addEventListener("click", togglePending);
  // Buttons, not a form: a sandboxed frame without allow-forms never fires "submit".
  ui.againSubmit.addEventListener("click", () => void editAgain(false));
  ui.againPrompt.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
      event.preventDefault();
      void editAgain(false);
    }
  });
  ui.againSeed.addEventListener("click", () => void editAgain(true));
  ui.again.addEventListener("change", (event) => {
    const target = event.target;
    if (target instanceof HTMLInputElement && target.name === "base") {
      state.base = target.value === "original" ? "original" : "result";
      void updateBrush();
    }
  });
}

app.ontoolinput = (params) => onToolInput(params.arguments);
app.ontoolresult = (result) => applyResult(result, true);
app.ontoolcancelled = () => {
  state.awaitingHost = false;
  showMessage(ui, "The host cancelled the call.", "info");
  render();
};
app.onhostcontextchanged = (context) => applyHostContext(context);
app.onteardown = () => {
  state.waiting = "stopped";
  waitAbort?.abort();
  setTicking(false);
  return {};
};

wireControls();
render();
app
  .connect()
  .then(() => {
    const context = app.getHostContext();
    if (context) applyHostContext(context);
    render();
  })
  .catch((error: unknown) => showMessage(ui, `This viewer runs inside an MCP host; connecting failed: ${errorText(error)}`));

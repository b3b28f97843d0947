// The viewer of one image edit, as an MCP App: before/after, the facts, a pending job followed to its end, and
// "edit again"; for a call with variations, a gallery of them (src/gallery.ts), and a strip of the server's
// recent edits (src/recent.ts). It speaks only to its host (postMessage); images come from preview_image.

import {
  App,
  applyDocumentTheme,
  applyHostFonts,
  applyHostStyleVariables,
  type McpUiHostContext,
} from "@modelcontextprotocol/ext-apps/app-with-deps";
import { Brush } from "./brush";
import { EMPTY_ARGS, inputsOf, isWebUrl, type Report, readArgs, readReport } from "./contract";
import { againText, download, freshSeeds, moreText, openLink, randomSeed, runEdit, tellModel } from "./edits";
import { Follower, type Job } from "./follow";
import { Gallery } from "./gallery";
import { drawMaskOutline } from "./mask";
import { errorText, Previews, textOf, type ToolResult } from "./previews";
import { Recent } from "./recent";
import { Screen, type State } from "./screen";
import { Stage } from "./stage";
import { lookup, renderFacts, renderThumbs, setBadge, showBusy, showMessage } from "./ui";
import { galleryReport, seedText, tileFacts } from "./variations";

const THUMB_SIDE = 160;
const TILE_SIDE = 384;
const RECENT_LIMIT = 12;

const ui = lookup();
const app = new App({ name: "qwen-image-edit-viewer", version: "1.0.0" }, {}, { autoResize: true });
const previews = new Previews(app);
const brush = new Brush(ui.brush);
let brushToken = 0;
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
  pendingSince: null,
  maskShown: false,
  base: "result",
};
const thumb = (side: number) => async (ref: string): Promise<string | null> => {
  const loaded = await previews.load(ref, side);
  return loaded.ok ? loaded.url : null;
};
const gallery = new Gallery(ui.gallery, {
  thumb: thumb(TILE_SIDE),
  changed: (what) => {
    if (what === "select") {
      state.outputIndex = 0;
      state.naturalSize = null;
    }
    render();
  },
});
const recent = new Recent(ui.recent, {
  fetch: () => app.callServerTool({ name: "recent_edits", arguments: { limit: RECENT_LIMIT } }),
  thumb: thumb(THUMB_SIDE),
  choose: (id) => void openRecent(id),
});
const follower = new Follower(app, {
  render: () => render(),
  renderPending: () => renderPending(),
  problem: (text) => showMessage(ui, text),
  done: () => {
    setTicking(state.report?.pending === true);
    render();
  },
});
const screen = new Screen(state, gallery);
const stage = new Stage(ui, previews, () => screen.scene(), (natural) => {
  if (natural !== state.naturalSize && state.report) {
    state.naturalSize = natural;
    renderFacts(ui, screen.facts());
  }
});
const compare = stage.compare;
const shown = (): Report | null => screen.shown();
const currentOutput = (): string | null => screen.currentOutput();
const baseOutput = (): string | null => screen.baseOutput();
let ticker: number | null = null;

// ---- rendering -------------------------------------------------------------------------------------------

function render(): void {
  const [text, tone] = screen.badge();
  setBadge(ui, text, tone);
  const prompt = state.args.prompt;
  ui.prompt.hidden = !prompt;
  ui.prompt.textContent = prompt ? `“${prompt}”` : "";
  gallery.render();
  renderFacts(ui, screen.facts());
  renderPending();
  renderActions();
  renderAllThumbs();
  recent.setCurrent(shown()?.prediction_id ?? null);
  void stage.render();
}

function renderPending(): void {
  const report = state.report;
  const pending = report?.pending === true;
  ui.pending.hidden = !pending;
  const stopped = follower.waiting === "stopped";
  ui.pending.classList.toggle("stopped", stopped);
  if (!pending || report === null) return;
  const since = state.pendingSince ?? Date.now();
  const running = Math.max(0, Math.round((Date.now() - since) / 1000));
  const variations = gallery.tiles.length;
  const status = gallery.active
    ? `${gallery.tiles.filter((tile) => tileFacts(tile).pending).length} of ${variations} variations running`
    : report.status;
  const parts = [`Status: ${status}`, `running for ${running} s`];
  const checks = follower.checks;
  if (checks > 0) parts.push(`checked ${checks} time${checks === 1 ? "" : "s"}`);
  if (follower.progress) parts.push(follower.progress);
  if (stopped) parts.push("not waiting any more");
  ui.pendingText.textContent = `${parts.join(" · ")}.`;
  ui.pendingToggle.textContent = stopped ? "Keep waiting" : "Stop waiting";
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
  const canResult = baseOutput() !== null;
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
  // A gallery's finished variations can be edited while others still run; a single running job can't.
  const blocked = state.busy !== null || (!gallery.active && state.report?.pending === true);
  ui.againSubmit.disabled = blocked;
  ui.againSeed.disabled = blocked;
  renderGalleryActions();
  void updateBrush();
}

function renderGalleryActions(): void {
  if (!gallery.active) {
    ui.baseResultText.textContent = "this result";
    return;
  }
  const index = gallery.base();
  const seed = seedText(gallery.facts(index)?.seed ?? null);
  const which = gallery.picked !== null ? "the picked variation" : "the variation shown";
  ui.baseResultText.textContent = `${which} (${index + 1}, ${seed})`;
  ui.moreLike.disabled = state.busy !== null || baseOutput() === null;
  const count = gallery.tiles.length;
  ui.moreLike.title = `${count} new variations of ${which} (${index + 1}, ${seed}), same prompt and model`;
}

/** Show the image "edit again" applies to under the brush (its first image when there are several). */
async function updateBrush(): Promise<void> {
  const token = ++brushToken;
  const base = chosenBase();
  const images = base?.["images"];
  const ref = Array.isArray(images) ? images[0] : base?.["image"];
  const loaded = typeof ref === "string" ? await previews.load(ref, stage.side()) : null;
  if (token !== brushToken) return;
  brush.setImage(loaded?.ok ? loaded.url : null);
}

function renderAllThumbs(): void {
  const small = thumb(THUMB_SIDE);
  const inputs = inputsOf(state.report, state.args);
  renderThumbs(ui.inputs, inputs, state.inputIndex, (i) => `Input ${i + 1} of ${inputs.length}`, small, (i) => {
    state.inputIndex = i;
    render();
  });
  const outputs = shown()?.outputs ?? [];
  renderThumbs(ui.outputs, outputs, state.outputIndex, (i) => `Result ${i + 1} of ${outputs.length}`, small, (i) => {
    state.outputIndex = i;
    state.naturalSize = null;
    render();
  });
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
  const many = (report.variations?.length ?? 0) >= 2;
  // A call with variations is always new: its tiles and their followers start afresh.
  const same = !many && !gallery.active && state.report?.prediction_id === report.prediction_id;
  if (!same) {
    state.outputIndex = 0;
    state.naturalSize = null;
    state.pendingSince = Date.now() - (report.elapsed_seconds ?? 0) * 1000;
    state.maskShown = false;
    ui.maskLayer.hidden = true;
    follower.reset();
    gallery.show(report.variations);
  }
  state.report = report;
  if (report.inputs && report.inputs.length > 0 && state.original === null) {
    state.original = { ...EMPTY_ARGS, images: report.inputs };
  }
  setTicking(report.pending);
  render();
  if (report.pending && follower.waiting !== "stopped") follow();
}

function setTicking(on: boolean): void {
  if (on && ticker === null) ticker = window.setInterval(renderPending, 1000);
  if (!on && ticker !== null) {
    window.clearInterval(ticker);
    ticker = null;
  }
}

// ---- following running jobs (src/follow.ts) -----------------------------------------------------------------

/** The single job on screen, or each running variation of a gallery. */
function jobs(): Job[] {
  if (!gallery.active) {
    const take = (report: Report): void => {
      state.report = report;
      if (!report.pending) showMessage(ui, null);
      render();
    };
    const id = (): string | null => state.report?.prediction_id ?? null;
    return [{ name: "the job", id, pending: () => state.report?.pending === true, take }];
  }
  return gallery.tiles.flatMap((tile, index) => {
    if (!tileFacts(tile).pending || tileFacts(tile).id === null) return [];
    const take = (report: Report): void => {
      tile.report = report;
      if (state.report !== null) state.report = galleryReport(state.report, gallery.tiles);
      if (!state.report?.pending) showMessage(ui, null);
      render();
    };
    const facts = () => tileFacts(tile);
    return [{ name: `variation ${index + 1}`, id: () => facts().id, pending: () => facts().pending, take }];
  });
}

function follow(): void {
  void follower.run(jobs());
}

function togglePending(): void {
  if (follower.waiting === "stopped") {
    follower.waiting = "idle";
    showMessage(ui, null);
    follow();
    return;
  }
  follower.stop();
  render();
}

// ---- edit again, new seed, more like this (src/edits.ts) --------------------------------------------------

function chosenBase(): Record<string, unknown> | null {
  return screen.chosenBase(ui.again.querySelector<HTMLInputElement>('input[name="base"]:checked')?.value);
}

/** The model of the edit on screen (as the model named it, else the variant that ran), and the brush's mask. */
function addModelAndMask(args: Record<string, unknown>): void {
  const model = state.args.model ?? state.original?.model ?? state.report?.variant ?? null;
  if (model !== null) args["model"] = model;
  const mask = brush.maskUri();
  if (mask !== null) args["mask"] = mask;
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
  addModelAndMask(args);
  await submit(args, "Editing again", (report) => againText(prompt, report));
}

async function moreLikeThis(): Promise<void> {
  if (state.busy !== null || !gallery.active) return;
  const image = baseOutput();
  const prompt = state.args.prompt ?? state.original?.prompt ?? null;
  if (image === null || !prompt) {
    const why = image === null ? "This variation has no image yet." : "This edit's prompt is not known here.";
    showMessage(ui, why, "info");
    return;
  }
  const count = Math.min(4, Math.max(2, gallery.tiles.length));
  const index = gallery.base();
  const taken = new Set(gallery.tiles.flatMap((tile) => tileFacts(tile).seed ?? []));
  const args: Record<string, unknown> = { image, prompt, variations: count, seed: freshSeeds(count, taken) };
  addModelAndMask(args);
  const like = `variation ${index + 1} (${seedText(gallery.facts(index)?.seed ?? null)})`;
  await submit(args, "Making more like this", (report) => moreText(count, like, prompt, report));
}

/** Run edit_image for the view, show its result in place of the one on screen, and tell the model. */
async function submit(args: Record<string, unknown>, label: string, told: (report: Report) => string): Promise<void> {
  state.busy = label;
  showMessage(ui, null);
  render();
  try {
    const result = await runEdit(app, args, (message) => {
      if (state.busy !== null) showBusy(ui, `${label}: ${message}`);
    });
    if (readReport(result.structuredContent) !== null) {
      state.args = readArgs(args);
      state.inputIndex = 0;
    }
    state.busy = null;
    applyResult(result, false);
    recent.refresh();
    if (state.report !== null) void tellModel(app, told(state.report));
  } catch (error) {
    state.busy = null;
    showMessage(ui, `The host could not run the edit: ${errorText(error)}.`);
    render();
  }
}

// ---- the recent strip (src/recent.ts) ------------------------------------------------------------------------

async function openRecent(predictionId: string): Promise<void> {
  if (state.busy !== null) return;
  state.busy = "Opening the edit";
  showMessage(ui, null);
  render();
  try {
    const result = await app.callServerTool({ name: "get_prediction", arguments: { prediction_id: predictionId } });
    if (readReport(result.structuredContent) !== null) {
      state.args = { ...EMPTY_ARGS, prediction_id: predictionId };
      state.original = null; // the next report's inputs are this edit's original
      state.inputIndex = 0;
    }
    state.busy = null;
    applyResult(result, false);
  } catch (error) {
    state.busy = null;
    showMessage(ui, `The host could not open that edit: ${errorText(error)}.`);
    render();
  }
}

// ---- open, download, mask ----------------------------------------------------------------------------------

async function openFull(): Promise<void> {
  const output = currentOutput();
  if (output !== null && !(await openLink(app, output))) {
    showMessage(ui, `The host did not open the image. Its address: ${output}`, "info");
  }
}

async function downloadFull(): Promise<void> {
  const output = currentOutput();
  if (output !== null && !(await download(app, output))) {
    showMessage(ui, `The host did not download the image. Its address: ${output}`, "info");
  }
}

async function toggleMask(): Promise<void> {
  const mask = state.report?.mask ?? state.args.mask;
  if (!mask) return;
  state.maskShown = !state.maskShown;
  ui.maskLayer.hidden = !state.maskShown;
  renderActions();
  if (!state.maskShown) return;
  const loaded = await previews.load(mask, stage.side());
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
  ui.moreLike.addEventListener("click", () => void moreLikeThis());
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
  follower.stop();
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

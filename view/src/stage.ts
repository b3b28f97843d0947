// The stage's pictures: the two images on the slider (the input and the output shown, or two variations chosen to
// compare, A and B), loaded through preview_image at the stage's size (sharper when zoomed in), with a note when
// one can't be shown and a busy line while the view waits.

import { Compare } from "./compare";
import type { Previews } from "./previews";
import { showBusy, showNote, type Ui } from "./ui";

export interface Scene {
  before: string | null;
  after: string | null;
  /** The sides' names when two variations are compared ("A · seed 1", "B · seed 2"); null: before and after. */
  pair: [string, string] | null;
  busy: string | null;
  /** What to say when there is no picture and nothing is running. */
  empty: string;
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

export class Stage {
  readonly compare: Compare;
  private sharp = false; // zoomed in: previews at twice the stage's pixels
  private token = 0;

  constructor(
    private readonly ui: Ui,
    private readonly previews: Previews,
    private readonly scene: () => Scene,
    /** Told the size of the output shown ("W*H"), when the preview says it; not while comparing variations. */
    private readonly onNaturalSize: (size: string | null) => void,
  ) {
    this.compare = new Compare({
      stage: ui.stage,
      before: ui.beforeImg,
      after: ui.afterImg,
      overlay: ui.maskCanvas,
      handle: ui.handle,
      zoomLabel: ui.zoomLabel,
      onZoom: (zoom) => {
        const sharp = zoom > 1.5;
        if (sharp !== this.sharp) {
          this.sharp = sharp;
          void this.render();
        }
      },
    });
  }

  /** The preview size for the stage's width in device pixels. */
  side(): number {
    const width = this.ui.stage.clientWidth || 480;
    const pixels = width * (window.devicePixelRatio || 1) * (this.sharp ? 2 : 1);
    return Math.min(1536, Math.max(512, Math.ceil(pixels / 256) * 256));
  }

  private nameSides(pair: [string, string] | null): void {
    const { ui } = this;
    this.compare.setNames(pair ? "A" : "before", pair ? "B" : "after");
    ui.handle.setAttribute("aria-label", pair ? "Variation A and B divider" : "Before and after divider");
    ui.stage.setAttribute("aria-label", pair ? "Variation A and variation B" : "Before and after");
    ui.tagBefore.textContent = pair ? pair[0] : "Before";
  }

  async render(): Promise<void> {
    const { ui } = this;
    const token = ++this.token;
    const { before: beforeRef, after: afterRef, pair, busy } = this.scene();
    this.nameSides(pair);
    const side = this.side();
    showBusy(ui, busy);
    const [before, after] = await Promise.all([
      beforeRef === null ? null : this.previews.load(beforeRef, side),
      afterRef === null ? null : this.previews.load(afterRef, side),
    ]);
    if (token !== this.token) return;
    const notes: string[] = [];
    const [beforeName, afterName] = pair ? ["Variation A", "Variation B"] : ["The input image", "The result"];
    if (after && !after.ok) notes.push(`${afterName} can't be shown here: ${after.why}.`);
    if (before && !before.ok) notes.push(`${beforeName} can't be shown here: ${before.why}.`);
    const main = after?.ok ? after : before?.ok ? before : null;
    const comparing = after?.ok === true && before?.ok === true;
    setImage(ui.afterImg, main?.ok ? main.url : null);
    setImage(ui.beforeImg, comparing && before?.ok ? before.url : null);
    ui.tagAfter.hidden = main === null;
    ui.tagAfter.textContent = after?.ok ? (pair?.[1] ?? "After") : (pair?.[0] ?? "Before");
    this.compare.setComparing(comparing);
    if (main === null && notes.length === 0) {
      const now = this.scene();
      if (!now.busy) notes.push(now.empty);
    }
    if (main?.ok) {
      const size = await decodedSize(ui.afterImg);
      if (token !== this.token) return;
      if (size === null) notes.push("The image can't be shown here: this browser could not decode it.");
      else ui.stage.style.setProperty("--aspect", `${size[0]} / ${size[1]}`);
    }
    showNote(ui, notes);
    const natural = after?.ok && after.width && after.height ? `${after.width}*${after.height}` : null;
    if (pair === null) this.onNaturalSize(natural);
  }
}

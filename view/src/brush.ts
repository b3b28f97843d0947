// The mask brush of "edit again": paint the region to change over the image being edited. The paint is kept on
// an offscreen canvas at the image's natural size (white = may change, black = keep) and shown, tinted and
// semi-transparent, on a canvas laid over the image.

export interface BrushElements {
  toggle: HTMLButtonElement;
  panel: HTMLElement;
  image: HTMLImageElement;
  canvas: HTMLCanvasElement;
  size: HTMLInputElement;
  clear: HTMLButtonElement;
}

const TINT = "rgb(255, 0, 200)";

export class Brush {
  private readonly mask = document.createElement("canvas");
  private painted = false;
  private last: [number, number] | null = null;
  private pointer: number | null = null;

  constructor(private readonly el: BrushElements) {
    el.toggle.addEventListener("click", () => this.setOpen(el.panel.hidden !== false));
    el.clear.addEventListener("click", () => this.clear());
    el.image.addEventListener("load", () => this.resize());
    el.canvas.addEventListener("pointerdown", (event) => this.down(event));
    el.canvas.addEventListener("pointermove", (event) => this.move(event));
    for (const name of ["pointerup", "pointercancel", "lostpointercapture"] as const) {
      el.canvas.addEventListener(name, (event) => this.up(event));
    }
  }

  /** The image the mask is painted over; another image clears the paint. */
  setImage(url: string | null): void {
    if (url === null) {
      this.el.image.removeAttribute("src");
      this.clear();
    } else if (this.el.image.getAttribute("src") !== url) {
      this.el.image.src = url;
    }
  }

  /** The mask as a PNG data URI at the image's natural size, or null when nothing is painted. */
  maskUri(): string | null {
    if (this.el.panel.hidden || !this.painted || this.mask.width === 0) return null;
    return this.mask.toDataURL("image/png");
  }

  clear(): void {
    this.painted = false;
    this.el.clear.disabled = true;
    const context = this.mask.getContext("2d");
    if (context !== null) {
      context.fillStyle = "#000";
      context.fillRect(0, 0, this.mask.width, this.mask.height);
    }
    this.el.canvas.getContext("2d")?.clearRect(0, 0, this.el.canvas.width, this.el.canvas.height);
  }

  private setOpen(open: boolean): void {
    this.el.panel.hidden = !open;
    this.el.toggle.setAttribute("aria-pressed", String(open));
  }

  private resize(): void {
    const { naturalWidth: width, naturalHeight: height } = this.el.image;
    for (const canvas of [this.mask, this.el.canvas]) {
      canvas.width = width;
      canvas.height = height;
    }
    this.clear();
  }

  /** Pointer position in the image's natural pixels, and the brush radius in them. */
  private at(event: PointerEvent): { x: number; y: number; r: number } {
    const box = this.el.canvas.getBoundingClientRect();
    const scale = this.mask.width / Math.max(1, box.width);
    const x = (event.clientX - box.left) * scale;
    const y = (event.clientY - box.top) * (this.mask.height / Math.max(1, box.height));
    return { x, y, r: (Number(this.el.size.value) / 2) * scale };
  }

  private down(event: PointerEvent): void {
    if (this.pointer !== null || this.mask.width === 0) return;
    event.preventDefault();
    this.pointer = event.pointerId;
    this.el.canvas.setPointerCapture(event.pointerId);
    this.last = null;
    this.move(event);
  }

  private move(event: PointerEvent): void {
    if (event.pointerId !== this.pointer) return;
    const { x, y, r } = this.at(event);
    const from = this.last ?? [x, y];
    this.stroke(this.mask, "#fff", from, [x, y], r);
    this.stroke(this.el.canvas, TINT, from, [x, y], r);
    this.last = [x, y];
    this.painted = true;
    this.el.clear.disabled = false;
  }

  private up(event: PointerEvent): void {
    if (event.pointerId !== this.pointer) return;
    this.pointer = null;
    this.last = null;
  }

  private stroke(canvas: HTMLCanvasElement, colour: string, from: number[], to: number[], r: number): void {
    const context = canvas.getContext("2d");
    if (context === null) return;
    context.strokeStyle = colour;
    context.fillStyle = colour;
    context.lineWidth = r * 2;
    context.lineCap = "round";
    context.beginPath();
    context.moveTo(from[0]!, from[1]!);
    context.lineTo(to[0]!, to[1]!);
    context.stroke();
    context.beginPath();
    context.arc(to[0]!, to[1]!, r, 0, Math.PI * 2);
    context.fill();
  }
}

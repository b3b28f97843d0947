// The before/after stage: two images in the same box, the "after" one clipped at a divider the user drags
// (pointer) or moves with the keyboard (a role=slider handle), with zoom and pan shared by both images.

const MAX_ZOOM = 8;

export interface CompareParts {
  stage: HTMLElement;
  before: HTMLImageElement;
  after: HTMLImageElement;
  overlay: HTMLCanvasElement;
  handle: HTMLElement;
  zoomLabel: HTMLElement;
  /** Told the zoom factor whenever it changes (the view fetches sharper previews when zoomed in). */
  onZoom?: (zoom: number) => void;
}

type Drag = { kind: "divider" } | { kind: "pan"; x: number; y: number; tx: number; ty: number };

export class Compare {
  private position = 50;
  private zoom = 1;
  private tx = 0;
  private ty = 0;
  private drag: Drag | null = null;
  private comparing = false;
  private names: [string, string] = ["before", "after"];

  constructor(private readonly parts: CompareParts) {
    const { stage, handle } = parts;
    stage.addEventListener("pointerdown", (event) => this.onPointerDown(event));
    stage.addEventListener("pointermove", (event) => this.onPointerMove(event));
    stage.addEventListener("pointerup", (event) => this.endDrag(event));
    stage.addEventListener("pointercancel", (event) => this.endDrag(event));
    stage.addEventListener("wheel", (event) => this.onWheel(event), { passive: false });
    stage.addEventListener("dblclick", (event) => this.onDoubleClick(event));
    handle.addEventListener("keydown", (event) => this.onKey(event));
    this.apply();
  }

  /** Show both images with the divider (true), or only the "after" image (false). */
  setComparing(comparing: boolean): void {
    this.comparing = comparing;
    this.parts.stage.classList.toggle("comparing", comparing);
    this.parts.handle.tabIndex = comparing ? 0 : -1;
    this.parts.handle.setAttribute("aria-disabled", String(!comparing));
    this.apply();
  }

  /** What the two sides show, for the slider's spoken value ("before" and "after" unless told otherwise). */
  setNames(left: string, right: string): void {
    this.names = [left, right];
    this.apply();
  }

  getPosition(): number {
    return this.position;
  }

  setPosition(value: number): void {
    this.position = Math.round(Math.min(100, Math.max(0, value)) * 10) / 10;
    this.apply();
  }

  zoomBy(factor: number, originX?: number, originY?: number): void {
    const rect = this.parts.stage.getBoundingClientRect();
    const ox = originX ?? rect.width / 2;
    const oy = originY ?? rect.height / 2;
    const next = Math.min(MAX_ZOOM, Math.max(1, this.zoom * factor));
    // Keep the point under the cursor (or the centre) where it is.
    this.tx = ox - ((ox - this.tx) * next) / this.zoom;
    this.ty = oy - ((oy - this.ty) * next) / this.zoom;
    this.zoom = next;
    this.clampPan(rect);
    this.apply();
  }

  resetZoom(): void {
    this.zoom = 1;
    this.tx = 0;
    this.ty = 0;
    this.apply();
  }

  private clampPan(rect: DOMRect): void {
    this.tx = Math.min(0, Math.max(rect.width * (1 - this.zoom), this.tx));
    this.ty = Math.min(0, Math.max(rect.height * (1 - this.zoom), this.ty));
  }

  private apply(): void {
    const { stage, handle, zoomLabel } = this.parts;
    if (stage.style.getPropertyValue("--zoom") !== String(this.zoom)) this.parts.onZoom?.(this.zoom);
    const shown = this.comparing ? this.position : 0;
    stage.style.setProperty("--pos", `${shown}%`);
    stage.style.setProperty("--tx", `${this.tx}px`);
    stage.style.setProperty("--ty", `${this.ty}px`);
    stage.style.setProperty("--zoom", String(this.zoom));
    stage.classList.toggle("zoomed", this.zoom > 1);
    handle.setAttribute("aria-valuenow", String(this.position));
    const [left, right] = this.names;
    const shares = `${Math.round(this.position)}% ${left}, ${Math.round(100 - this.position)}% ${right}`;
    handle.setAttribute("aria-valuetext", shares);
    zoomLabel.textContent = `${Math.round(this.zoom * 100)}%`;
  }

  private stagePoint(event: MouseEvent): { x: number; y: number; rect: DOMRect } {
    const rect = this.parts.stage.getBoundingClientRect();
    return { x: event.clientX - rect.left, y: event.clientY - rect.top, rect };
  }

  private onPointerDown(event: PointerEvent): void {
    if (event.button !== 0) return;
    if ((event.target as Element).closest("button")) return;
    const { x, y, rect } = this.stagePoint(event);
    const onDivider = (event.target as Element).closest(".divider") !== null;
    if (this.comparing && (onDivider || this.zoom === 1)) {
      this.drag = { kind: "divider" };
      this.setPosition((x / rect.width) * 100);
      this.parts.handle.focus({ preventScroll: true });
    } else if (this.zoom > 1) {
      this.drag = { kind: "pan", x, y, tx: this.tx, ty: this.ty };
    } else {
      return;
    }
    this.parts.stage.setPointerCapture(event.pointerId);
    this.parts.stage.classList.add("dragging");
    event.preventDefault();
  }

  private onPointerMove(event: PointerEvent): void {
    if (this.drag === null) return;
    const { x, y, rect } = this.stagePoint(event);
    if (this.drag.kind === "divider") {
      this.setPosition((x / rect.width) * 100);
    } else {
      this.tx = this.drag.tx + (x - this.drag.x);
      this.ty = this.drag.ty + (y - this.drag.y);
      this.clampPan(rect);
      this.apply();
    }
  }

  private endDrag(event: PointerEvent): void {
    if (this.drag === null) return;
    this.drag = null;
    this.parts.stage.classList.remove("dragging");
    if (this.parts.stage.hasPointerCapture(event.pointerId)) this.parts.stage.releasePointerCapture(event.pointerId);
  }

  private onWheel(event: WheelEvent): void {
    // Plain wheel scrolls the chat; ctrl/cmd + wheel (and trackpad pinch, which sends ctrlKey) zooms.
    if (!event.ctrlKey && !event.metaKey) return;
    event.preventDefault();
    const { x, y } = this.stagePoint(event);
    this.zoomBy(Math.exp(-event.deltaY / 300), x, y);
  }

  private onDoubleClick(event: MouseEvent): void {
    const { x, y } = this.stagePoint(event);
    if (this.zoom > 1) this.resetZoom();
    else this.zoomBy(2, x, y);
  }

  private onKey(event: KeyboardEvent): void {
    if (!this.comparing) return;
    const step = event.shiftKey ? 10 : 1;
    const moves: Record<string, number> = {
      ArrowLeft: this.position - step,
      ArrowDown: this.position - step,
      ArrowRight: this.position + step,
      ArrowUp: this.position + step,
      PageDown: this.position - 10,
      PageUp: this.position + 10,
      Home: 0,
      End: 100,
    };
    const next = moves[event.key];
    if (next !== undefined) {
      this.setPosition(next);
    } else if (event.key === "+" || event.key === "=") {
      this.zoomBy(1.5);
    } else if (event.key === "-") {
      this.zoomBy(1 / 1.5);
    } else if (event.key === "0") {
      this.resetZoom();
    } else {
      return;
    }
    event.preventDefault();
  }
}

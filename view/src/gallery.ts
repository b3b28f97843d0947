// The variations of one edit_image call (`variations` > 1) as tiles, in the order the server lists them: each
// tile shows its first output small, its seed and its status; the user selects one for the stage, chooses two
// to compare on the slider, and picks one as the base of the next edit. The tiles are built once per call and
// then updated in place, so a button keeps the keyboard focus across renders.

import type { Variation } from "./contract";
import { seedText, type Tile, type TileFacts, tileFacts } from "./variations";

export interface GalleryElements {
  section: HTMLElement;
  title: HTMLElement;
  hintText: HTMLElement;
  stopCompare: HTMLButtonElement;
  tiles: HTMLElement;
}

export interface GalleryHooks {
  /** A preview URL for a tile, or null when it cannot be shown. */
  thumb: (ref: string) => Promise<string | null>;
  /** The selection, the compared pair or the pick changed. */
  changed: (what: "select" | "compare" | "pick") => void;
}

interface TileView {
  item: HTMLLIElement;
  show: HTMLButtonElement;
  picture: HTMLElement;
  marks: HTMLElement;
  seed: HTMLElement;
  status: HTMLElement;
  error: HTMLElement;
  compare: HTMLButtonElement;
  pick: HTMLButtonElement;
  shownRef: string | null;
}

function element<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  className: string,
  text = "",
): HTMLElementTagNameMap[K] {
  const made = document.createElement(tag);
  made.className = className;
  if (text) made.textContent = text;
  return made;
}

export class Gallery {
  tiles: Tile[] = [];
  selected = 0;
  picked: number | null = null;
  private chosen: number[] = []; // chosen to compare, in the order chosen (at most two)
  private views: TileView[] = [];

  constructor(
    private readonly el: GalleryElements,
    private readonly hooks: GalleryHooks,
  ) {
    el.stopCompare.addEventListener("click", () => {
      this.chosen = [];
      this.hooks.changed("compare");
    });
  }

  get active(): boolean {
    return this.tiles.length >= 2;
  }

  /** A new call's variations (fewer than two: no gallery). Selects the first tile that has an image. */
  show(variations: Variation[] | null): void {
    const list = variations ?? [];
    this.tiles = list.length >= 2 ? list.map((variation) => ({ variation, report: null })) : [];
    const first = this.tiles.findIndex((tile) => tileFacts(tile).outputs.length > 0);
    this.selected = Math.max(0, first);
    this.picked = null;
    this.chosen = [];
    this.views = this.tiles.map((_, index) => this.build(index));
    this.el.tiles.replaceChildren(...this.views.map((view) => view.item));
    this.render();
  }

  facts(index: number): TileFacts | null {
    const tile = this.tiles[index];
    return tile === undefined ? null : tileFacts(tile);
  }

  /** The tile "edit again" and "more like this" apply to: the picked one, else the one selected. */
  base(): number {
    return this.picked ?? this.selected;
  }

  /** The two tiles compared on the slider, in the order listed (A first), or null when fewer are chosen. */
  pair(): [number, number] | null {
    if (this.chosen.length !== 2) return null;
    const [a, b] = [...this.chosen].sort((x, y) => x - y);
    return [a!, b!];
  }

  select(index: number): void {
    this.selected = index;
    this.chosen = [];
    this.hooks.changed("select");
  }

  toggleCompare(index: number): void {
    if (this.chosen.includes(index)) this.chosen = this.chosen.filter((i) => i !== index);
    else this.chosen = [...this.chosen, index].slice(-2);
    this.hooks.changed("compare");
  }

  togglePick(index: number): void {
    this.picked = this.picked === index ? null : index;
    this.hooks.changed("pick");
  }

  render(): void {
    this.el.section.hidden = !this.active;
    if (!this.active) return;
    const shown = this.tiles.filter((tile) => tileFacts(tile).outputs.length > 0).length;
    const count = this.tiles.length;
    this.el.title.textContent = `${count} variations${shown < count ? `, ${shown} with an image` : ""}`;
    const pair = this.pair();
    this.el.stopCompare.hidden = pair === null;
    const side = (index: number): string => `variation ${index + 1}, ${this.seedOf(index)}`;
    this.el.hintText.textContent =
      pair === null
        ? "Choose Compare on two variations to see them on the slider."
        : `Comparing A (${side(pair[0])}) with B (${side(pair[1])}).`;
    this.views.forEach((view, index) => this.renderTile(view, index));
  }

  private seedOf(index: number): string {
    return seedText(this.facts(index)?.seed ?? null);
  }

  private label(index: number): string {
    return `variation ${index + 1} (${this.seedOf(index)})`;
  }

  private build(index: number): TileView {
    const item = element("li", "tile");
    const show = element("button", "tile-show");
    show.type = "button";
    const picture = element("span", "tile-picture");
    const marks = element("span", "tile-marks");
    show.append(picture, marks);
    const meta = element("p", "tile-meta");
    const seed = element("span", "tile-seed");
    const status = element("span", "tile-status");
    meta.append(seed, status);
    const error = element("p", "tile-error");
    const actions = element("div", "tile-actions");
    const compare = element("button", "tile-compare", "Compare");
    const pick = element("button", "tile-pick", "Pick");
    for (const button of [compare, pick]) button.type = "button";
    actions.append(compare, pick);
    item.append(show, meta, error, actions);
    show.addEventListener("click", () => this.select(index));
    compare.addEventListener("click", () => this.toggleCompare(index));
    pick.addEventListener("click", () => this.togglePick(index));
    return { item, show, picture, marks, seed, status, error, compare, pick, shownRef: null };
  }

  private renderTile(view: TileView, index: number): void {
    const facts = tileFacts(this.tiles[index]!);
    const label = this.label(index);
    const failed = !facts.pending && facts.outputs.length === 0;
    view.item.dataset["state"] = facts.pending ? "pending" : failed ? "failed" : "done";
    view.item.title = facts.id ?? "no job";
    view.show.setAttribute("aria-pressed", String(index === this.selected));
    view.show.setAttribute("aria-label", `Show ${label}`);
    view.compare.setAttribute("aria-pressed", String(this.chosen.includes(index)));
    view.compare.setAttribute("aria-label", `Compare ${label}`);
    view.pick.setAttribute("aria-pressed", String(this.picked === index));
    view.pick.setAttribute("aria-label", `Pick ${label}`);
    view.compare.disabled = facts.outputs.length === 0;
    view.pick.disabled = facts.outputs.length === 0;
    view.seed.textContent = seedText(facts.seed);
    view.status.textContent = facts.pending ? `${facts.status}, running` : facts.status;
    const pair = this.pair();
    const marks: string[] = [];
    if (pair?.[0] === index) marks.push("A");
    if (pair?.[1] === index) marks.push("B");
    if (this.picked === index) marks.push("Picked");
    view.marks.replaceChildren(...marks.map((mark) => element("span", "tile-mark", mark)));
    view.error.hidden = !failed;
    if (failed) {
      const why = element("span", "", facts.error ?? "This variation produced no image.");
      const id = facts.id;
      const job = id ? element("span", "mono", `Prediction ${id}`) : element("span", "", "No job was created.");
      view.error.replaceChildren(why, " ", job);
    }
    this.renderPicture(view, facts);
  }

  private renderPicture(view: TileView, facts: TileFacts): void {
    const ref = facts.outputs[0] ?? null;
    if (ref === view.shownRef && ref !== null) return;
    view.shownRef = ref;
    if (ref === null) {
      const text = facts.pending ? "Running" : "No image";
      const note = element("span", "tile-none", text);
      if (facts.pending) note.prepend(element("span", "spinner"));
      view.picture.replaceChildren(note);
      return;
    }
    view.picture.replaceChildren(element("span", "tile-none", "Loading"));
    void this.hooks.thumb(ref).then((url) => {
      if (view.shownRef !== ref) return;
      if (url === null) {
        view.picture.replaceChildren(element("span", "tile-none", "Not shown"));
        return;
      }
      const img = element("img", "");
      img.src = url;
      img.alt = "";
      view.picture.replaceChildren(img);
    });
  }
}

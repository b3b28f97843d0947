// The view's elements and the small renderers that only write to them.

import type { Fact } from "./facts";

function byId<T extends HTMLElement>(id: string): T {
  const element = document.getElementById(id);
  if (element === null) throw new Error(`viewer template lacks #${id}`);
  return element as T;
}

export function lookup() {
  return {
    status: byId("status"),
    prompt: byId("prompt"),
    stage: byId("stage"),
    beforeImg: byId<HTMLImageElement>("before-img"),
    afterImg: byId<HTMLImageElement>("after-img"),
    maskLayer: byId("mask-layer"),
    maskCanvas: byId<HTMLCanvasElement>("mask-canvas"),
    handle: byId("handle"),
    tagBefore: byId("tag-before"),
    tagAfter: byId("tag-after"),
    stageNote: byId("stage-note"),
    stageBusy: byId("stage-busy"),
    stageBusyText: byId("stage-busy-text"),
    zoomIn: byId<HTMLButtonElement>("zoom-in"),
    zoomOut: byId<HTMLButtonElement>("zoom-out"),
    zoomReset: byId<HTMLButtonElement>("zoom-reset"),
    zoomLabel: byId("zoom-label"),
    maskToggle: byId<HTMLButtonElement>("mask-toggle"),
    open: byId<HTMLButtonElement>("open"),
    download: byId<HTMLButtonElement>("download"),
    inputs: byId("inputs"),
    outputs: byId("outputs"),
    pending: byId("pending"),
    pendingText: byId("pending-text"),
    pendingToggle: byId<HTMLButtonElement>("pending-toggle"),
    message: byId("message"),
    facts: byId<HTMLDListElement>("facts"),
    again: byId("again"),
    againPrompt: byId<HTMLTextAreaElement>("again-prompt"),
    againSubmit: byId<HTMLButtonElement>("again-submit"),
    againSeed: byId<HTMLButtonElement>("again-seed"),
    baseResultText: byId("base-result-text"),
    moreLike: byId<HTMLButtonElement>("more-like"),
    gallery: {
      section: byId("gallery"),
      title: byId("gallery-title"),
      hintText: byId("gallery-hint-text"),
      stopCompare: byId<HTMLButtonElement>("compare-stop"),
      tiles: byId("tiles"),
    },
    recent: {
      section: byId("recent"),
      toggle: byId<HTMLButtonElement>("recent-toggle"),
      note: byId("recent-note"),
      list: byId("recent-list"),
    },
    brush: {
      toggle: byId<HTMLButtonElement>("brush-toggle"),
      panel: byId("brush-panel"),
      image: byId<HTMLImageElement>("brush-img"),
      canvas: byId<HTMLCanvasElement>("brush-canvas"),
      size: byId<HTMLInputElement>("brush-size"),
      clear: byId<HTMLButtonElement>("brush-clear"),
    },
  };
}

export type Ui = ReturnType<typeof lookup>;

export type Tone = "neutral" | "ok" | "danger" | "busy";

export function setBadge(ui: Ui, text: string, tone: Tone): void {
  ui.status.textContent = text;
  ui.status.dataset["tone"] = tone;
}

export function renderFacts(ui: Ui, facts: Fact[]): void {
  ui.facts.replaceChildren(
    ...facts.flatMap((fact) => {
      const term = document.createElement("dt");
      term.textContent = fact.label;
      const value = document.createElement("dd");
      value.textContent = fact.value;
      value.dataset["fact"] = fact.key;
      if (fact.mono) value.classList.add("mono");
      return [term, value];
    }),
  );
}

export function showMessage(ui: Ui, text: string | null, tone: "danger" | "info" = "danger"): void {
  ui.message.hidden = !text;
  ui.message.textContent = text ?? "";
  ui.message.dataset["tone"] = tone;
  ui.message.setAttribute("role", tone === "danger" ? "alert" : "status");
}

export function showNote(ui: Ui, notes: string[]): void {
  ui.stageNote.hidden = notes.length === 0;
  ui.stageNote.textContent = notes.join(" ");
}

export function showBusy(ui: Ui, text: string | null): void {
  ui.stageBusy.hidden = text === null;
  ui.stageBusyText.textContent = text ?? "";
}

/** A row of thumbnail buttons; `load` fills each image in when its preview arrives. */
export function renderThumbs(
  container: HTMLElement,
  refs: string[],
  selected: number,
  label: (index: number) => string,
  load: (ref: string) => Promise<string | null>,
  choose: (index: number) => void,
): void {
  container.hidden = refs.length < 2;
  if (refs.length < 2) {
    container.replaceChildren();
    return;
  }
  container.replaceChildren(
    ...refs.map((ref, index) => {
      const button = document.createElement("button");
      button.type = "button";
      button.setAttribute("aria-pressed", String(index === selected));
      button.setAttribute("aria-label", label(index));
      button.title = label(index);
      button.addEventListener("click", () => choose(index));
      void load(ref).then((url) => {
        const child = url === null ? document.createElement("span") : document.createElement("img");
        if (child instanceof HTMLImageElement && url !== null) {
          child.src = url;
          child.alt = "";
        } else {
          child.className = "none";
          child.textContent = "not shown";
        }
        button.replaceChildren(child);
      });
      return button;
    }),
  );
}

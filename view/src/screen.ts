// The view's state, and what it shows derived from it: the report on screen (in a gallery, the selected
// variation's), the image "edit again" starts from, the badge, the facts and the stage's scene.

import { type EditArgs, inputsOf, type Report } from "./contract";
import { type Fact, factsOf, money, statusText } from "./facts";
import type { Gallery } from "./gallery";
import type { Scene } from "./stage";
import type { Tone } from "./ui";
import { galleryStatus, seedText, variationReport } from "./variations";

const TERMINAL_FAILURES = new Set(["failed", "cancelled", "timeout", "deleted"]);

export interface State {
  args: EditArgs; // the arguments of the edit on screen
  original: EditArgs | null; // what the host's tool call sent first: "the original"
  report: Report | null;
  hostError: string | null; // the text of a tool error that carried no report
  awaitingHost: boolean; // the host sent the input and is running the tool
  inputIndex: number;
  outputIndex: number;
  naturalSize: string | null;
  busy: string | null; // an edit call of the view's own in flight
  pendingSince: number | null;
  maskShown: boolean;
  base: "result" | "original"; // what "edit again" applies to, as the user chose
}

export class Screen {
  constructor(
    readonly state: State,
    readonly gallery: Gallery,
  ) {}

  /** The report on the stage and in the facts: the call's, or in a gallery the selected variation's. */
  shown(): Report | null {
    const { report } = this.state;
    const tile = this.gallery.active ? this.gallery.tiles[this.gallery.selected] : undefined;
    return report !== null && tile !== undefined ? variationReport(report, tile) : report;
  }

  currentOutput(): string | null {
    const outputs = this.shown()?.outputs ?? [];
    return outputs[this.state.outputIndex] ?? outputs[0] ?? null;
  }

  /** The image "edit again" (on the result) and "more like this" start from: the picked variation's, else the
   * one shown. */
  baseOutput(): string | null {
    const { gallery } = this;
    if (gallery.active && gallery.picked !== null) return gallery.facts(gallery.picked)?.outputs[0] ?? null;
    return this.currentOutput();
  }

  /** What "edit again" applies to, by the user's choice: the result (or picked variation), or the original. */
  chosenBase(choice: string | undefined): Record<string, unknown> | null {
    const output = this.baseOutput();
    if (choice === "result" && output !== null) return { image: output };
    const original = this.state.original;
    if (original === null) return null;
    if (original.images && original.images.length > 0) return { images: original.images };
    return original.image !== null ? { image: original.image } : null;
  }

  badge(): [string, Tone] {
    const { state } = this;
    const report = state.report;
    if (state.busy !== null) return [state.busy, "busy"];
    if (report === null) {
      if (state.hostError !== null) return ["Error", "danger"];
      return state.awaitingHost ? ["Editing", "busy"] : ["Waiting for the edit", "neutral"];
    }
    if (this.gallery.active) {
      const { text, tone } = galleryStatus(this.gallery.tiles);
      return [text, tone];
    }
    if (report.pending) return [statusText(report), "busy"];
    if (report.status === "completed") return ["completed", "ok"];
    return [report.status, TERMINAL_FAILURES.has(report.status) ? "danger" : "neutral"];
  }

  facts(): Fact[] {
    const report = this.shown();
    if (report === null) return [];
    const facts = factsOf(report, this.state.args, this.state.naturalSize);
    if (this.gallery.active) {
      const total = this.state.report?.cost_usd;
      const value = `${this.gallery.tiles.length}${typeof total === "number" ? `, ${money(total)} in all` : ""}`;
      facts.push({ key: "variations", label: "Variations", value });
    }
    return facts;
  }

  /** What the stage compares: the input and the output shown, or two variations chosen to compare (A and B). */
  scene(): Scene {
    const { gallery, state } = this;
    const pair = gallery.active ? gallery.pair() : null;
    const busy = this.busyText(pair !== null);
    const empty = this.emptyNote();
    if (pair !== null) {
      const [a, b] = pair.map((index) => gallery.facts(index));
      const names: [string, string] = [`A · ${seedText(a?.seed ?? null)}`, `B · ${seedText(b?.seed ?? null)}`];
      return { before: a?.outputs[0] ?? null, after: b?.outputs[0] ?? null, pair: names, busy, empty };
    }
    const inputs = inputsOf(state.report, state.args);
    const before = inputs[state.inputIndex] ?? inputs[0] ?? null;
    return { before, after: this.currentOutput(), pair: null, busy, empty };
  }

  private busyText(comparing: boolean): string | null {
    const { state } = this;
    if (state.busy !== null) return state.busy;
    if (this.gallery.active) return !comparing && this.shown()?.pending ? "Waiting for this variation" : null;
    if (state.report?.pending) return "Waiting for the result";
    const many = state.args.variations ?? 1;
    if (state.awaitingHost && state.report === null) return many >= 2 ? `Editing ${many} variations` : "Editing";
    return null;
  }

  private emptyNote(): string {
    const report = this.shown();
    if (report && TERMINAL_FAILURES.has(report.status)) return "The edit produced no image.";
    if (report) return "There is no image to show.";
    if (this.state.hostError) return "The edit did not run.";
    return "Waiting for the edit.";
  }
}

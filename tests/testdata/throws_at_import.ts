// A module that throws while it is imported by a child (not by the test that names it).
import { currentProcess } from "../../mod.ts";

export function t(): void {}

function failAtImport(): never {
  throw new Error("thrown at import on purpose");
}

if (currentProcess().name !== "MainProcess") failAtImport();

export const MODULE: string = import.meta.url;

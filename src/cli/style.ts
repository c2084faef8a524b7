import pc from "picocolors";

/** Colors for stderr: picocolors honours NO_COLOR, FORCE_COLOR and whether stderr is a terminal. */
export const style = pc.createColors(pc.isColorSupported && (process.stderr.isTTY || "FORCE_COLOR" in process.env));

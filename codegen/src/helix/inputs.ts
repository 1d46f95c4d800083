// The files the Helix generator reads, as its generated header names them.
import { inputPath, overridesPath } from "../emit.js"

export const helixInputsText = [inputPath("helix-openapi.json"), overridesPath("helix.json")]

// lifeline.plain.min.js, loaded after lifeline.min.js: adds `Lifeline.Plain` (plain mode). The
// classes it extends come from the global (the build maps their modules to it), and internal
// names match because every script build shares one table of mangled names (rollup.config.mjs).
import { LifelinePlain } from './plain'

declare const Lifeline: { Plain?: unknown }

Lifeline.Plain = LifelinePlain

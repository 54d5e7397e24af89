#!/usr/bin/env node
// Entry point of the installed command: runs the compiled CLI when built, the TypeScript sources otherwise.
import { existsSync } from 'node:fs';
const built = new URL('../dist/cli/main.js', import.meta.url);
const { main } = await import(existsSync(built) ? built.href : new URL('../src/cli/main.ts', import.meta.url).href);
process.exitCode = await main(process.argv.slice(2));

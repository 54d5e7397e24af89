#!/usr/bin/env node
// The kubectl plugin (`kubectl gateway list|kubeconfig|health`): kubectl runs `kubectl-gateway`
// from the PATH. Runs the compiled plugin when built, the TypeScript sources otherwise (Node 24).
import { existsSync } from 'node:fs';
const built = new URL('../dist/cli/kubectl-plugin.js', import.meta.url);
const { pluginMain } = await import(
  existsSync(built) ? built.href : new URL('../src/cli/kubectl-plugin.ts', import.meta.url).href
);
process.exitCode = await pluginMain(process.argv.slice(2));

// The set of resources a sandbox cluster serves right now: the builtin ones plus those declared by
// established CustomResourceDefinitions. Discovery, OpenAPI, routing and RBAC defaults read it;
// listeners learn when it changes (CRD created/removed) so cached documents can be rebuilt.

import { builtinResources } from './builtin.ts';
import type { ResourceInfo } from './types.ts';

export class ResourceRegistry {
  readonly #builtin: ResourceInfo[] = builtinResources();
  /** CRD name → the ResourceInfos it serves */
  readonly #crds = new Map<string, ResourceInfo[]>();
  #all: ResourceInfo[] = [];
  #byPath = new Map<string, ResourceInfo>();
  #generation = 0;
  readonly #listeners = new Set<() => void>();

  constructor() {
    this.#rebuild();
  }

  /** increases on every change, for cache keys */
  get generation(): number {
    return this.#generation;
  }

  all(): readonly ResourceInfo[] {
    return this.#all;
  }

  lookup(group: string, version: string, resource: string): ResourceInfo | undefined {
    return this.#byPath.get(`${group}/${version}/${resource}`);
  }

  /** Any served version of a group/resource (the storage view is version-independent). */
  anyVersion(group: string, resource: string): ResourceInfo | undefined {
    return this.#all.find((r) => r.group === group && r.resource === resource);
  }

  byKind(group: string, version: string, kind: string): ResourceInfo | undefined {
    return this.#all.find((r) => r.group === group && r.version === version && r.kind === kind);
  }

  setCrd(crdName: string, infos: ResourceInfo[]): void {
    if (infos.length === 0) this.#crds.delete(crdName);
    else this.#crds.set(crdName, infos);
    this.#rebuild();
  }

  hasCrd(crdName: string): boolean {
    return this.#crds.has(crdName);
  }

  onChange(fn: () => void): () => void {
    this.#listeners.add(fn);
    return () => this.#listeners.delete(fn);
  }

  #rebuild(): void {
    this.#all = [...this.#builtin, ...[...this.#crds.values()].flat()];
    this.#byPath = new Map(this.#all.map((r) => [`${r.group}/${r.version}/${r.resource}`, r]));
    this.#generation++;
    for (const l of this.#listeners) l();
  }
}

/** Storage key of a resource type, shared by all its versions. */
export function storageKey(info: { group: string; resource: string }): string {
  return info.group ? `${info.resource}.${info.group}` : info.resource;
}

export function apiVersionOf(info: { group: string; version: string }): string {
  return info.group ? `${info.group}/${info.version}` : info.version;
}

/** Types of install.mjs, for the test that imports it. */
export interface InstallFacts {
  readonly workspace: boolean;
  /** 'absent', 'loads', or why loading the prebuilt addon failed. */
  readonly prebuilt: string;
  readonly toolkit: { readonly nvcc?: string | undefined; readonly cmake?: string | undefined; readonly cmakeJs?: string | undefined };
  readonly requireCuda: boolean;
}
export interface InstallPlan {
  readonly action: 'none' | 'keep' | 'build' | 'skip' | 'fail';
  readonly message: string;
}
export function installPlan(facts: InstallFacts): InstallPlan;
export function probeAddon(path: string): string;

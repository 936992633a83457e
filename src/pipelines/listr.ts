/**
 * One constructor for task lists, so every pipeline renders the way output.ts chose for this run.
 */
import { Listr, type ListrRendererValue, type ListrTask } from 'listr2';

import type { Output } from '../output.js';

/** A task list of any renderer (the renderer is chosen at run time). */
export type Pipeline<Ctx> = Listr<Ctx, ListrRendererValue, ListrRendererValue>;

/** A task of such a list. */
export type PipelineTask<Ctx> = ListrTask<Ctx>;

/** Build a task list rendered for `output`'s mode. */
export function createPipeline<Ctx>(tasks: PipelineTask<Ctx>[], output: Output): Pipeline<Ctx> {
  return new Listr<Ctx, ListrRendererValue, ListrRendererValue>(tasks, output.listrOptions());
}

import { PipelineNotDefined } from '../lib/errors.js';
import type { ModelSource } from '../models/model-source.js';
import type { PipelineDefinition } from '../pipelines/index.js';
import { parseLeadsTable, type LeadsTable } from '../source/leads-table.js';
import type { ActivityDeps } from './deps.js';
import type { SinkTables } from './sql/publish-run.js';

/** What a stage needs of its run's pipeline: the definition, its source and sink tables ready for SQL, its models. */
export interface StagePipeline {
  definition: PipelineDefinition;
  source: LeadsTable;
  sinks: SinkTables;
  model: ModelSource;
}

/** Looks a run's pipeline up in the worker's registry; one it does not define is PipelineNotDefined (retried). */
export function stagePipeline(deps: Pick<ActivityDeps, 'pipelines' | 'modelSource'>, pipelineId: string): StagePipeline {
  if (!deps.pipelines.ids().includes(pipelineId)) throw new PipelineNotDefined(pipelineId, deps.pipelines.ids());
  const definition = deps.pipelines.get(pipelineId);
  return { definition, ...pipelineTables(definition), model: deps.modelSource(definition.modelDir) };
}

/** A definition's source and sink tables, validated and quoted for SQL. */
export function pipelineTables(definition: PipelineDefinition): Pick<StagePipeline, 'source' | 'sinks'> {
  const { table, key, change, email } = definition.source;
  return {
    source: parseLeadsTable(table, { key, change, email }),
    sinks: { current: parseLeadsTable(definition.sinks.current).sql, history: parseLeadsTable(definition.sinks.history).sql },
  };
}

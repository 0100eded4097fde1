// How compared downstream scores are told apart and labelled: the same in the CLI, the report and the view.
import type { ComparedRun } from './contract'

type Score = ComparedRun['downstream'][number]

/** Scores of one task, domain, metric, checkpoint and fine-tuning length form one row. */
export const downstreamKey = (d: Score): string => JSON.stringify([d.task, d.domain, d.metric, d.checkpointId, d.finetuneSteps])

/** The metric with the fine-tuning length it was measured after ("accuracy · 150 steps"); unrecorded: the metric alone. */
export const downstreamMetricLabel = (d: Pick<Score, 'metric' | 'finetuneSteps'>): string => (d.finetuneSteps === null ? d.metric : `${d.metric} · ${d.finetuneSteps} steps`)

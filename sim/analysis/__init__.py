"""Analysis of results: figures of a run (:mod:`sim.analysis.plots`), the Markdown report
(:mod:`sim.analysis.report`) and summaries of batch folders (:mod:`sim.analysis.summary`)."""

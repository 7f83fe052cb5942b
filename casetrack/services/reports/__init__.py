"""Reports: the bulletin and its documents, the assessment, the leader's dashboard."""

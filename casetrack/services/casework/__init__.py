"""Cases and their workflow: filing, transitions, scope, lists, notices, shared problems, progress, attachments, petitions, Excel in and out."""

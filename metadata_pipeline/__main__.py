from metadata_pipeline.cli import main

raise SystemExit(main())

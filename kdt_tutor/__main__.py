from kdt_tutor.cli import main

raise SystemExit(main())

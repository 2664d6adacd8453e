from switchman.cli.main import main

raise SystemExit(main())

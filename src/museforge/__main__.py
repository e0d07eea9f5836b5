from museforge.cli import main

raise SystemExit(main())

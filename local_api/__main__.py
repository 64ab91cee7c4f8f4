import sys

from local_api.cli import main

sys.exit(main())

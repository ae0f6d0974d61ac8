from moltctl.cli import main

main()

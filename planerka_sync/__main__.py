from planerka_sync.cli import main

main()

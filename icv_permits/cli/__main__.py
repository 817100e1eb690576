from icv_permits.cli import main

main()

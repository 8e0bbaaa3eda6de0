"""`python -m ordertrail_admin ...`: the tenant CLI, as `python -m ordertrail_admin.tenant ...`."""

from ordertrail_admin.tenant import main

if __name__ == "__main__":
    main()

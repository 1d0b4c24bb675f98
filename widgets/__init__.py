"""Widget types that workspaces are composed from (timelines, record lists, KPI tiles, …).

Each type will be one module with its config schema, data loader, template name and the event
kinds it refreshes on; widgets supply data and template names and never render. No widget type
exists yet: workspaces arrive in a later stage.
"""

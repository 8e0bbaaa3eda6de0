"""HTTP plumbing shared by the handlers: the resolver, error mapping and who may call what."""

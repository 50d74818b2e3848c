"""Everything that talks to Elasticsearch: client, index template, bulk writes, search."""

"""Teams per competition: create with an invite code, join, leave."""

"""Posts: the social core — posts and company news, comments with one level of replies, edit
history, reactions, shares, polls, attachments, records linked to posts, follows and mutes, and
the timelines built from them (see ``models`` for the two index tables every timeline reads)."""

"""Groups: public, private, hidden and mandatory groups, their members, owners and managers, the
customer and partner accounts a group is shared with, and the rules that fill mandatory groups.

An active membership is what gives a principal the ``group:<id>`` token (``domain.access``)."""

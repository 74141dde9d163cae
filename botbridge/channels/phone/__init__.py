"""The phone voice menu, served to Asterisk over FastAGI: the protocol and `Line` (agi.py), the
threaded server `runagi` runs (server.py). What the menu asks and does lives in the engine
package (botbridge/conversation/phone.py); this package only carries it to the caller."""

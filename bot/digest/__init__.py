"""The weekly committee paper and the reminders that keep every resident's report answered."""

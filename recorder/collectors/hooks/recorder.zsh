# placeholder, replaced by the shell collector

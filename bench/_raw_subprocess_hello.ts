// Raw baseline: an OS process that prints one line and exits.
console.log("hello");

package convert

// AddFolderVocabForTest exposes addFolderVocab to the external tests.
var AddFolderVocabForTest = addFolderVocab
